# fish completion for evctl(1)
#
# Keep the commands and options in step with 'evctl --help' and
# man/evctl.1; tests/docs.bats fails when they drift apart.

set -l evctl_commands init info verify repair

complete -c evctl -f
# options before the command
complete -c evctl -n "not __fish_seen_subcommand_from $evctl_commands" -s h -l help -d 'Show help and exit'
complete -c evctl -n "not __fish_seen_subcommand_from $evctl_commands" -s V -l version -d 'Show versions and exit'

# commands
complete -c evctl -n "not __fish_seen_subcommand_from $evctl_commands" -a init -d 'Create a log'
complete -c evctl -n "not __fish_seen_subcommand_from $evctl_commands" -a info -d 'Show format, id, segments, events, bytes, times'
complete -c evctl -n "not __fish_seen_subcommand_from $evctl_commands" -a verify -d 'Check every batch, record and index'
complete -c evctl -n "not __fish_seen_subcommand_from $evctl_commands" -a repair -d 'Truncate a torn tail and rebuild indexes and head'

# LOG, after any command
complete -c evctl -n "__fish_seen_subcommand_from $evctl_commands" -a '(__fish_complete_directories (commandline -ct))'

# init
complete -c evctl -n '__fish_seen_subcommand_from init' -l level -x -a '0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19' -d 'zstd level (default 1)'
complete -c evctl -n '__fish_seen_subcommand_from init' -l segment-bytes -x -d 'Roll segments at SIZE bytes (128M)'
complete -c evctl -n '__fish_seen_subcommand_from init' -l sync -x -a 'batch none' -d 'Default sync policy'

# info
complete -c evctl -n '__fish_seen_subcommand_from info' -l json -d 'Machine-readable output'
complete -c evctl -n '__fish_seen_subcommand_from info' -l types -d 'Count events per type'

# verify
complete -c evctl -n '__fish_seen_subcommand_from verify' -s q -l quiet -d 'Print nothing when the log is clean'

# repair
complete -c evctl -n '__fish_seen_subcommand_from repair' -l dry-run -d 'Say what would be done, change nothing'
complete -c evctl -n '__fish_seen_subcommand_from repair' -l truncate-damaged -d 'Cut the log at damage, moving the cut bytes to lost+found/'

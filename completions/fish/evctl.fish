# fish completion for evctl(1)
#
# Keep the commands and options in step with 'evctl --help' and
# man/evctl.1; tests/docs.bats fails when they drift apart.

set -l evctl_commands init info verify repair groups lag metrics streams trim

complete -c evctl -f
# options before the command
complete -c evctl -n "not __fish_seen_subcommand_from $evctl_commands" -s h -l help -d 'Show help and exit'
complete -c evctl -n "not __fish_seen_subcommand_from $evctl_commands" -s V -l version -d 'Show versions and exit'

# commands
complete -c evctl -n "not __fish_seen_subcommand_from $evctl_commands" -a init -d 'Create a log'
complete -c evctl -n "not __fish_seen_subcommand_from $evctl_commands" -a info -d 'Show format, id, segments, events, bytes, times'
complete -c evctl -n "not __fish_seen_subcommand_from $evctl_commands" -a verify -d 'Check every batch, record and index'
complete -c evctl -n "not __fish_seen_subcommand_from $evctl_commands" -a repair -d 'Truncate a torn tail and rebuild indexes and head'
complete -c evctl -n "not __fish_seen_subcommand_from $evctl_commands" -a groups -d 'List consumer groups, or reset or delete one'
complete -c evctl -n "not __fish_seen_subcommand_from $evctl_commands" -a lag -d 'Health check of group lag (Nagios convention)'
complete -c evctl -n "not __fish_seen_subcommand_from $evctl_commands" -a metrics -d 'Prometheus text exposition'
complete -c evctl -n "not __fish_seen_subcommand_from $evctl_commands" -a streams -d 'List streams: version, events, first and last offset'
complete -c evctl -n "not __fish_seen_subcommand_from $evctl_commands" -a trim -d 'Remove whole old segments'

# LOG, after any command
complete -c evctl -n "__fish_seen_subcommand_from $evctl_commands" -a '(__fish_complete_directories (commandline -ct))'

# init
complete -c evctl -n '__fish_seen_subcommand_from init' -l dedupe-window -x -d 'Remember the ids of the last N events (1000000; 0 is off)'
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
complete -c evctl -n '__fish_seen_subcommand_from repair' -l truncate-damaged -d 'Replace a damaged batch with a gap, moving its bytes to lost+found/'

# groups
complete -c evctl -n '__fish_seen_subcommand_from groups' -l delete -x -d 'Remove group NAME'
complete -c evctl -n '__fish_seen_subcommand_from groups' -l execute -d 'With --reset or --delete: do it'
complete -c evctl -n '__fish_seen_subcommand_from groups' -l json -d 'One JSON object per group'
complete -c evctl -n '__fish_seen_subcommand_from groups' -l reset -x -d 'Move group NAME'
complete -c evctl -n '__fish_seen_subcommand_from groups' -l state-dir -x -a '(__fish_complete_directories (commandline -ct))' -d 'Groups kept in DIR'
complete -c evctl -n '__fish_seen_subcommand_from lag' -l state-dir -x -a '(__fish_complete_directories (commandline -ct))' -d 'Groups kept in DIR'
complete -c evctl -n '__fish_seen_subcommand_from metrics' -l state-dir -x -a '(__fish_complete_directories (commandline -ct))' -d 'Groups kept in DIR'
complete -c evctl -n '__fish_seen_subcommand_from trim' -l state-dir -x -a '(__fish_complete_directories (commandline -ct))' -d 'Also respect the groups kept in DIR'
complete -c evctl -n '__fish_seen_subcommand_from groups' -l to -x -a 'start end' -d 'start, end, OFFSET or @TIME'

# lag
complete -c evctl -n '__fish_seen_subcommand_from lag' -l crit -x -d 'Critical at N events or a duration behind'
complete -c evctl -n '__fish_seen_subcommand_from lag' -l group -x -d 'Check one group'
complete -c evctl -n '__fish_seen_subcommand_from lag' -l warn -x -d 'Warning at N events or a duration behind'

# streams
complete -c evctl -n '__fish_seen_subcommand_from streams' -l category -x -d 'Only streams NAME and NAME-*'
complete -c evctl -n '__fish_seen_subcommand_from streams' -l json -d 'One JSON object per stream'
complete -c evctl -n '__fish_seen_subcommand_from streams' -l stream-exact -x -d 'Only stream NAME, even with *, ? or [ in it'

# trim
complete -c evctl -n '__fish_seen_subcommand_from trim' -l before -x -d 'Segments last appended before TIME'
complete -c evctl -n '__fish_seen_subcommand_from trim' -l dry-run -d 'Say what would go, remove nothing'
complete -c evctl -n '__fish_seen_subcommand_from trim' -l force -d 'Even events a group has not consumed'
complete -c evctl -n '__fish_seen_subcommand_from trim' -l keep-bytes -x -d 'Keep at least SIZE bytes'
complete -c evctl -n '__fish_seen_subcommand_from trim' -l keep-events -x -d 'Keep at least N events'

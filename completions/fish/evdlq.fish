# fish completion for evdlq(1)
#
# Keep the commands, options and selectors in step with 'evdlq --help' and
# man/evdlq.1; tests/docs.bats fails when they drift apart.

set -l evdlq_commands ls show stats retry purge

complete -c evdlq -f
# options before the command
complete -c evdlq -n "not __fish_seen_subcommand_from $evdlq_commands" -s h -l help -d 'Show help and exit'
complete -c evdlq -n "not __fish_seen_subcommand_from $evdlq_commands" -s V -l version -d 'Show versions and exit'

# commands
complete -c evdlq -n "not __fish_seen_subcommand_from $evdlq_commands" -a ls -d 'One line per open dead letter'
complete -c evdlq -n "not __fish_seen_subcommand_from $evdlq_commands" -a show -d 'Whole letters, by their offset in DLQ'
complete -c evdlq -n "not __fish_seen_subcommand_from $evdlq_commands" -a stats -d 'Counts by type, by error and by age; the oldest'
complete -c evdlq -n "not __fish_seen_subcommand_from $evdlq_commands" -a retry -d 'Run the handler again on the selected open letters'
complete -c evdlq -n "not __fish_seen_subcommand_from $evdlq_commands" -a purge -d 'Record the selected open letters as discarded'

# DLQ, after any command
complete -c evdlq -n "__fish_seen_subcommand_from $evdlq_commands" -a '(__fish_complete_directories (commandline -ct))'

# ls
complete -c evdlq -n '__fish_seen_subcommand_from ls' -l all -d 'Include resolved and discarded letters'
complete -c evdlq -n '__fish_seen_subcommand_from ls' -l json -d 'One JSON object per letter'

# show
complete -c evdlq -n '__fish_seen_subcommand_from show' -l json -d 'One JSON object per letter'

# retry
complete -c evdlq -n '__fish_seen_subcommand_from retry' -l backoff -x -d 'First retry delay, doubling (1s)'
complete -c evdlq -n '__fish_seen_subcommand_from retry' -l backoff-max -x -d 'Longest retry delay (30s)'
complete -c evdlq -n '__fish_seen_subcommand_from retry' -l dry-run -d 'Say what would be retried, run nothing'
complete -c evdlq -n '__fish_seen_subcommand_from retry' -l exec -x -a '(__fish_complete_command)' -d "The handler (default: the letter's own)"
complete -c evdlq -n '__fish_seen_subcommand_from retry' -l retries -x -d 'Retries of a failed run (3)'
complete -c evdlq -n '__fish_seen_subcommand_from retry' -l schemas -x -a '(__fish_complete_directories (commandline -ct))' -d "Validate schema letters against DIR (default: the letter's own)"
complete -c evdlq -n '__fish_seen_subcommand_from retry' -l ref-dir -x -a '(__fish_complete_directories (commandline -ct))' -d "Load schema letters' remote refs from [PREFIX=]DIR"
complete -c evdlq -n '__fish_seen_subcommand_from retry' -l timeout -x -d 'A run that takes longer fails'

# purge
complete -c evdlq -n '__fish_seen_subcommand_from purge' -l dry-run -d 'Say what would be discarded'
complete -c evdlq -n '__fish_seen_subcommand_from purge' -l reason -x -d 'Why (required)'

# selectors: every command but show
complete -c evdlq -n '__fish_seen_subcommand_from ls stats retry purge' -l error -x -d 'The last failure matches REGEX (ERE)'
complete -c evdlq -n '__fish_seen_subcommand_from ls stats retry purge' -l group -x -d 'Written by consumer group NAME'
complete -c evdlq -n '__fish_seen_subcommand_from ls stats retry purge' -l offset -x -d 'DLQ offsets A..B'
complete -c evdlq -n '__fish_seen_subcommand_from ls stats retry purge' -l older-than -x -d 'Written at least DURATION ago'
complete -c evdlq -n '__fish_seen_subcommand_from ls stats retry purge' -l stream -x -d "The original event's stream matches GLOB"
complete -c evdlq -n '__fish_seen_subcommand_from ls stats retry purge' -l type -x -d "The original event's type matches GLOB"

# a dead-letter topic (kafka://...): every command
complete -c evdlq -n '__fish_seen_subcommand_from ls show stats retry purge' -s X -x -d 'A librdkafka property, PROPERTY=VALUE'
complete -c evdlq -n '__fish_seen_subcommand_from ls show stats retry purge' -l kafka-config -r -F -d 'librdkafka properties from FILE, as kcat'
complete -c evdlq -n '__fish_seen_subcommand_from ls show stats retry purge' -l kafka-timeout -x -d 'Give up on an unreachable cluster after DURATION (10s)'

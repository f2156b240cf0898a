# fish completion for evtail(1)
#
# Keep the options in step with 'evtail --help' and man/evtail.1;
# tests/docs.bats fails when they drift apart.

# LOG is a log directory or a segment file
complete -c evtail -f -a '(__fish_complete_directories (commandline -ct)) (__fish_complete_suffix .seg)'

complete -c evtail -l backoff -x -d 'First retry delay, doubling with jitter (1s)'
complete -c evtail -l backoff-max -x -d 'Longest retry delay (30s)'
complete -c evtail -l batch -x -d 'With --exec, up to N events per handler run'
complete -c evtail -l color -x -a 'auto always never' -d 'Colour pretty output'
complete -c evtail -l commit-every -x -d 'With --group, commit every N events (100000)'
complete -c evtail -l commit-interval -x -d 'With --group, commit at least this often (1s)'
complete -c evtail -l group -x -d 'Read as consumer group NAME'
complete -c evtail -l state-dir -x -a '(__fish_complete_directories (commandline -ct))' -d 'Keep group state in DIR'
complete -c evtail -l wait -d 'Wait for a group another consumer holds'
complete -c evtail -l count -x -d 'Stop after printing N events'
complete -c evtail -l cursor-file -r -F -d 'Resume after the position in FILE'
complete -c evtail -l dlq -x -a '(__fish_complete_directories (commandline -ct))' -d 'With --exec, dead-letter failed events to DLQLOG'
complete -c evtail -l dlq-policy -x -a 'event stream' -d 'What a dead letter parks'
complete -c evtail -l exec -x -a '(__fish_complete_command)' -d 'With --group, run CMD (sh -c) per event'
complete -c evtail -s f -l follow -d 'Wait for new events'
complete -c evtail -l from -x -a 'start end' -d 'Start at OFFSET, start, end or @TIME'
complete -c evtail -l from-version -x -d 'With one exact --stream or --stream-exact, start at its version N'
complete -c evtail -l grace -x -d 'On SIGINT/SIGTERM, let handlers finish this long (10s)'
complete -c evtail -s h -l help -d 'Show help and exit'
complete -c evtail -s n -l lines -x -d 'Print the last N (matching) events'
complete -c evtail -l on-failure -x -a 'stop dlq skip' -d 'After the last retry'
complete -c evtail -s o -l output -x -a 'json pretty cloudevents msgpack' -d 'Output format'
complete -c evtail -l parallel -x -d 'With --exec, up to N handlers at once (1)'
complete -c evtail -l retries -x -d 'Retries of a failed handler run (3)'
complete -c evtail -l since -x -d 'Only events at or after TIME'
complete -c evtail -l stream -x -d 'Only streams matching GLOB (one exact name: through its links)'
complete -c evtail -l stream-exact -x -d 'Only stream NAME, even with *, ? or [ in it'
complete -c evtail -l category -x -d 'Only streams NAME and NAME-*'
complete -c evtail -l template -x -d 'Print TPL per event'
complete -c evtail -l timeout -x -d 'A handler run that takes longer fails'
complete -c evtail -l to -x -d 'Stop after OFFSET, or at the first event later than @TIME'
complete -c evtail -l type -x -d 'Only types matching GLOB'
complete -c evtail -l until -x -d 'Only events at or before TIME'
complete -c evtail -s V -l version -d 'Show versions and exit'
complete -c evtail -l where -x -d "Only events where 'PATH OP VALUE' holds"

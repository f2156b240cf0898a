# fish completion for evproject(1)
#
# Keep the options in step with 'evproject --help' and man/evproject.1;
# tests/docs.bats fails when they drift apart.

# LOG is a log directory or a segment file
complete -c evproject -f -a '(__fish_complete_directories (commandline -ct)) (__fish_complete_suffix .seg)'

# a PATH: an envelope field, or one in data or meta
set -l __evproject_paths 'type stream id key version time schema offset data. meta.'

complete -c evproject -l avg -x -a "$__evproject_paths" -d 'The average of the numbers at PATH'
complete -c evproject -l by -x -a "$__evproject_paths" -d 'Group by the value at PATH'
complete -c evproject -l category -x -d 'Only streams NAME and NAME-*'
complete -c evproject -l count -d 'The number of events'
complete -c evproject -l distinct -x -a "$__evproject_paths" -d 'The number of distinct values at PATH'
complete -c evproject -l dlq -x -a '(__fish_complete_directories (commandline -ct))' -d 'With --on-error dlq, where events that cannot be upcast go'
complete -c evproject -l every -x -d 'Group by time buckets of DURATION (30s, 5m, 1h, 1d)'
complete -c evproject -l first -x -a "$__evproject_paths" -d 'The value at PATH in the first event'
complete -c evproject -l from -x -a 'start end' -d 'Start at OFFSET, start, end or @TIME'
complete -c evproject -s h -l help -d 'Show help and exit'
complete -c evproject -l last -x -a "$__evproject_paths" -d 'The value at PATH in the last event'
complete -c evproject -l last-event -d 'The whole last event'
complete -c evproject -l limit -x -d 'Print only the first N rows'
complete -c evproject -l max -x -a "$__evproject_paths" -d 'The largest number (or string) at PATH'
complete -c evproject -l min -x -a "$__evproject_paths" -d 'The smallest number (or string) at PATH'
complete -c evproject -s o -l output -x -a 'table json ndjson csv tsv' -d 'Output format'
complete -c evproject -l on-error -x -a 'stop skip dlq' -d 'An event --upcast cannot upcast'
complete -c evproject -l since -x -d 'Only events at or after TIME'
complete -c evproject -l sort -x -d 'Order rows by columns, COL[,-COL]...'
complete -c evproject -l stream -x -d 'Only streams matching GLOB'
complete -c evproject -l stream-exact -x -d 'Only stream NAME, even with *, ? or [ in it'
complete -c evproject -l strict -d 'A value of the wrong type is an error'
complete -c evproject -l sum -x -a "$__evproject_paths" -d 'The sum of the numbers at PATH'
complete -c evproject -l to -x -d 'Stop after OFFSET, or before the first event later than @TIME'
complete -c evproject -l type -x -d 'Only types matching GLOB'
complete -c evproject -l until -x -d 'Only events at or before TIME'
complete -c evproject -l upcast -r -F -d 'Upcast events with the upcaster set in PATH'
complete -c evproject -s V -l version -d 'Show versions and exit'
complete -c evproject -l where -x -d 'Only events where a filter expression holds'

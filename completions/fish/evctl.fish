# fish completion for evctl(1)
#
# Keep the commands and options in step with 'evctl --help' and
# man/evctl.1; tests/docs.bats fails when they drift apart.

set -l evctl_commands init info verify repair groups lag health metrics streams trim export import schema

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
complete -c evctl -n "not __fish_seen_subcommand_from $evctl_commands" -a health -d 'Health check of a kafka log (Nagios convention)'
complete -c evctl -n "not __fish_seen_subcommand_from $evctl_commands" -a metrics -d 'Prometheus text exposition'
complete -c evctl -n "not __fish_seen_subcommand_from $evctl_commands" -a streams -d 'List streams: version, events, first and last offset'
complete -c evctl -n "not __fish_seen_subcommand_from $evctl_commands" -a trim -d 'Remove whole old segments'
complete -c evctl -n "not __fish_seen_subcommand_from $evctl_commands" -a export -d 'Write a snapshot of the log as one archive file'
complete -c evctl -n "not __fish_seen_subcommand_from $evctl_commands" -a import -d 'Unpack an archive into a new log'
complete -c evctl -n "not __fish_seen_subcommand_from $evctl_commands" -a schema -d 'JSON Schema: check, lint, compat, infer'

# LOG, after any command
complete -c evctl -n "__fish_seen_subcommand_from $evctl_commands" -a '(__fish_complete_directories (commandline -ct))'

# init
complete -c evctl -n '__fish_seen_subcommand_from init' -l correlation-index -d 'Writers keep the correlation index of evtail --trace up to date'
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

# kafka logs: info, groups, lag, health, metrics
complete -c evctl -n '__fish_seen_subcommand_from info groups lag health metrics' -l kafka-config -r -F -d 'On a kafka log, librdkafka properties from FILE'
complete -c evctl -n '__fish_seen_subcommand_from info groups lag health metrics' -l kafka-timeout -x -d 'On a kafka log, give up on a cluster after DURATION (10s)'
complete -c evctl -n '__fish_seen_subcommand_from info groups lag health metrics' -s X -x -d 'On a kafka log, a librdkafka property PROPERTY=VALUE'
complete -c evctl -n '__fish_seen_subcommand_from groups' -l group -x -d 'On a kafka log, the offsets of group NAME'
complete -c evctl -n '__fish_seen_subcommand_from metrics' -l group -x -d 'On a kafka log, the lag of group NAME'

# health
complete -c evctl -n '__fish_seen_subcommand_from health' -l group -x -d 'Degraded when group NAME is behind --max-lag'
complete -c evctl -n '__fish_seen_subcommand_from health' -l max-lag -x -d 'The lag past which a group is degraded (1000)'

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

# export
complete -c evctl -n '__fish_seen_subcommand_from export' -l format -x -a 'tar tar.zst tar.gz zip' -d 'Archive format'
complete -c evctl -n '__fish_seen_subcommand_from export' -s o -l output -r -F -d 'The archive (- for standard output)'
complete -c evctl -n '__fish_seen_subcommand_from export' -s q -l quiet -d 'Print nothing on success'

# import
complete -c evctl -n '__fish_seen_subcommand_from import' -l max-bytes -x -d 'Refuse an archive that unpacks to more'
complete -c evctl -n '__fish_seen_subcommand_from import' -s q -l quiet -d 'Print nothing on success'
complete -c evctl -n '__fish_seen_subcommand_from import' -F -d 'Archive'

# schema: its commands, then each one's options
function __evctl_schema_using -d 'is the command line evctl schema SUB?'
	set -l w (commandline -opc)
	contains -- schema $w; and contains -- $argv[1] $w
end
set -l evctl_schema_commands check lint compat infer
complete -c evctl -n "__fish_seen_subcommand_from schema; and not __fish_seen_subcommand_from $evctl_schema_commands" -a check -d 'Validate events against a schema directory'
complete -c evctl -n "__fish_seen_subcommand_from schema; and not __fish_seen_subcommand_from $evctl_schema_commands" -a lint -d 'Check a schema directory'
complete -c evctl -n "__fish_seen_subcommand_from schema; and not __fish_seen_subcommand_from $evctl_schema_commands" -a compat -d 'Can readers and writers of two schema versions coexist?'
complete -c evctl -n "__fish_seen_subcommand_from schema; and not __fish_seen_subcommand_from $evctl_schema_commands" -a infer -d 'Write a schema describing the events read'

# schema check
complete -c evctl -n '__evctl_schema_using check' -l examples -x -d 'Examples shown for each error (3)'
complete -c evctl -n '__evctl_schema_using check' -l formats -x -a 'annotate assert' -d 'The format keyword'
complete -c evctl -n '__evctl_schema_using check' -l ref-dir -x -a '(__fish_complete_directories (commandline -ct))' -d 'Load refs to URIs under PREFIX from DIR'
complete -c evctl -n '__evctl_schema_using check' -l report -x -a 'human json junit tap' -d 'Report format'
complete -c evctl -n '__evctl_schema_using check' -l require-schemas -d 'An event of a type without schemas is invalid'
complete -c evctl -n '__evctl_schema_using check' -l schemas -x -a '(__fish_complete_directories (commandline -ct))' -d 'The schema directory'
complete -c evctl -n '__evctl_schema_using check' -l type -x -d 'Only events of the types GLOB matches'
complete -c evctl -n '__evctl_schema_using check' -F

# schema lint
complete -c evctl -n '__evctl_schema_using lint' -l ref-dir -x -a '(__fish_complete_directories (commandline -ct))' -d 'Load refs to URIs under PREFIX from DIR'
complete -c evctl -n '__evctl_schema_using lint' -l report -x -a 'human json' -d 'Report format'
complete -c evctl -n '__evctl_schema_using lint' -l schemas -x -a '(__fish_complete_directories (commandline -ct))' -d 'The schema directory'

# schema compat
complete -c evctl -n '__evctl_schema_using compat' -l data -x -a '(__fish_complete_directories (commandline -ct))' -d 'Also validate the stored events of LOG'
complete -c evctl -n '__evctl_schema_using compat' -l examples -x -d 'With --data: failing events shown (5)'
complete -c evctl -n '__evctl_schema_using compat' -l mode -x -a 'backward forward full' -d 'Compatibility mode (backward)'
complete -c evctl -n '__evctl_schema_using compat' -l report -x -a 'human json' -d 'Report format'
complete -c evctl -n '__evctl_schema_using compat' -l transitive -d 'Every version of DIR/TYPE/ against the earlier ones'
complete -c evctl -n '__evctl_schema_using compat' -l type -x -d 'With --data: the type of the events'
complete -c evctl -n '__evctl_schema_using compat' -l upcast -r -d 'With --data: upcast the events first'
complete -c evctl -n '__evctl_schema_using compat' -F

# schema infer
complete -c evctl -n '__evctl_schema_using infer' -l enum-max -x -d 'Enum for at most N distinct strings (8)'
complete -c evctl -n '__evctl_schema_using infer' -l out -x -a '(__fish_complete_directories (commandline -ct))' -d 'Write DIR/TYPE/N.json'
complete -c evctl -n '__evctl_schema_using infer' -l type -x -d 'Only events of TYPE; with --wrap, their type'
complete -c evctl -n '__evctl_schema_using infer' -l type-from -x -d 'With --wrap: the type is the string at PATH'
complete -c evctl -n '__evctl_schema_using infer' -l wrap -d 'Each line is the data of an event'
complete -c evctl -n '__evctl_schema_using infer' -F

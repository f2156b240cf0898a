# fish completion for evpub(1)
#
# Keep the options in step with 'evpub --help' and man/evpub.1;
# tests/docs.bats fails when they drift apart.

# the first operand is LOG, a directory
complete -c evpub -f -a '(__fish_complete_directories (commandline -ct))'

complete -c evpub -s a -l ack -d 'Print OFFSET ID for each event once durable'
complete -c evpub -l batch-bytes -x -d 'Flush a batch at SIZE bytes of records (256K)'
complete -c evpub -l batch-events -x -d 'Flush a batch at N events (100000)'
complete -c evpub -s c -l create -d 'Create LOG if it does not exist'
complete -c evpub -l dry-run -d 'Check the input, append nothing'
complete -c evpub -l expect-version -x -a 'none exists any' -d 'Append only if each stream is at this version (or a number)'
complete -c evpub -l format -x -a 'envelope cloudevents msgpack' -d 'Input format'
complete -c evpub -s h -l help -d 'Show help and exit'
complete -c evpub -s i -l input -r -F -d 'Read FILE (- is stdin); may be repeated'
complete -c evpub -l id -x -d 'Event id (argument form)'
complete -c evpub -l id-from -x -d 'With --wrap: take the id from PATH'
complete -c evpub -l key -x -d 'Partition key (argument form)'
complete -c evpub -l key-from -x -d 'With --wrap: take the key from PATH'
complete -c evpub -l linger -x -d 'Flush a partial batch when input pauses (100ms)'
complete -c evpub -l meta -x -d 'Set meta.NAME=VALUE (argument form)'
complete -c evpub -l null-is-error -d 'With --wrap: null at a --*-from path is an error'
complete -c evpub -l renumber -d 'Number stream events afresh, ignoring their versions'
complete -c evpub -l schema -x -d 'Schema version of data (argument form)'
complete -c evpub -l skip-invalid -d 'Report bad lines and go on'
complete -c evpub -l stream -x -d 'Stream name (argument form)'
complete -c evpub -l stream-from -x -d 'With --wrap: take the stream from PATH'
complete -c evpub -l sync -x -a 'batch none' -d 'Sync policy'
complete -c evpub -l time -x -d 'Event time, RFC 3339 (argument form)'
complete -c evpub -l time-format -x -a 'rfc3339 epoch epoch-ms epoch-us epoch-ns' -d 'With --time-from: how the time is written, or a pattern'
complete -c evpub -l time-from -x -d 'With --wrap: take the time from PATH'
complete -c evpub -l time-zone -x -a 'UTC' -d 'UTC or +HH:MM or -HH:MM, for a pattern without %z'
complete -c evpub -l type -x -d 'With --wrap: the type of every event'
complete -c evpub -l type-from -x -d 'With --wrap: take the type from PATH'
complete -c evpub -s v -l verbose -d 'Report counts on stderr when done'
complete -c evpub -s V -l version -d 'Show versions and exit'
complete -c evpub -l wrap -d 'Each input line becomes the data of a new event'

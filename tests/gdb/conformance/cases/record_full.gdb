# title: issue 23 item 1: record full, stepi x3, reverse-stepi, reverse-continue
# (default scheduler-locking: GDB resumes all threads of all processes, which needs
# multiprocess+ handled by the stub)
# expect: stop breakpoint 1 compute:@compute_call
# expect: fwd3 leaf
# expect: back_one_same_as_two 1
# expect: back_at_start 1
# expect: back_where compute:@compute_call
# expect: out counter=8
# expect: exited 0
break compute
continue
tag off0 (long)$pc - (long)&compute
set $start = $pc
record full
stepi
tag pc1 (long)$pc - (long)&compute
stepi
tag pc2 (long)$pc - (long)&compute
set $after_two = $pc
stepi
tag-func fwd3
reverse-stepi
tag back_one_same_as_two $pc == $after_two
reverse-continue
tag back_at_start $pc == $start
tag-where back_where
record stop
delete
continue

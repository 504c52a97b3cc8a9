# title: read watchpoint: stops at the read of stamp, value shown
# proxy-skip-if: watchpoints=single-step: single-stepping sees changes only, so proxy refuses a read watchpoint there (README, test_gdb_watch.rwatch_is_refused_with_single_step_watchpoints)
# expect: value 5
# expect: exited 0
break store_fields
continue
rwatch stamp
continue
tag-func func
delete
continue

# title: stepi and nexti by instructions from a function's first instruction
# expect: stop breakpoint 1 leaf:@leaf_open
# expect: off1 1
# expect: exited 0
break *leaf
continue
tag off0 $pc - (long)&leaf
stepi
tag off1 $pc - (long)&leaf
stepi
tag off2 $pc - (long)&leaf
nexti
tag off3 $pc - (long)&leaf
delete
continue

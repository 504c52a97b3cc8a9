# title: issue 23 item 4: watchpoint on a 16-byte struct (more than one debug register)
# expect: stop breakpoint 1 store_fields:@store_stamp
# expect: stop watchpoint 2 store_fields:@read_stamp
# expect: old {lo = 0, hi = 0}
# expect: new {lo = 0, hi = 7}
# expect: exited 0
break store_fields
continue
watch big
continue
tag hi big.hi
delete
continue

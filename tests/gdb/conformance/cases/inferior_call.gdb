# title: inferior function calls from GDB, and the program goes on unharmed
# expect: stop breakpoint 1 store_fields:@store_stamp
# expect: leaf5 6
# expect: compute 4
# expect: back store_fields:@store_stamp
# expect: out counter=8
# expect: exited 0
break store_fields
continue
tag leaf5 leaf(5)
tag compute compute(counter)
tag-where back
delete
continue

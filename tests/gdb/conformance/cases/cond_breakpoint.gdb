# title: conditional breakpoint: stops only on the call where x == 2
# expect: stop breakpoint 1 leaf:@leaf_first
# expect: x 2
# expect: counter 2
# expect: exited 0
break leaf if x == 2
continue
tag x x
tag counter counter
delete
continue

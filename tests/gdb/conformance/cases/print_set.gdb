# title: print a struct and scalars, set variables, the program sees the new values
# expect: stop breakpoint 1 store_fields:@store_stamp
# expect: origin {x = 3, y = 4}
# expect: ox 3
# expect: counter 100
# expect: out counter=105
# expect: out origin.x=40
# expect: exited 0
break store_fields
continue
tag origin origin
tag ox origin.x
set var origin.x = 40
set var counter = 100
tag counter counter
delete
continue

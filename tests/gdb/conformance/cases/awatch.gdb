# title: access watchpoint: the write of stamp, old and new values
# (only the write: with single-step watchpoints proxy sees changes, not reads; the
# rwatch case covers reads where debug registers work)
# expect: stop breakpoint 1 store_fields:@store_stamp
# expect: stop awatchpoint 2 store_fields:@store_odd
# expect: old 0
# expect: new 5
# expect: stamp 5
# expect: exited 0
break store_fields
continue
awatch stamp
continue
tag stamp stamp
delete
continue

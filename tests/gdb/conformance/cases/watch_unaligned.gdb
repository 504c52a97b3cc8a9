# title: issue 23 item 4: watchpoint on a 2-byte field at offset 7 (unaligned, across an 8-byte boundary)
# expect: stop breakpoint 1 store_fields:@store_stamp
# expect: stop watchpoint 2 store_fields:@store_big
# expect: old 0
# expect: new 4660
# expect: exited 0
break store_fields
continue
watch odd.field
continue
tag field odd.field
delete
continue

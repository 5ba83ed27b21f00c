# expect: skip (a module of racy_module_attr.py)
requests = 0

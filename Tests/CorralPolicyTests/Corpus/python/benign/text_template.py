from string import Template

t = Template('Dear $name, your order $id has shipped.')
for name, oid in [('Ann', 1), ('Bo', 2)]:
    print(t.substitute(name=name, id=oid))

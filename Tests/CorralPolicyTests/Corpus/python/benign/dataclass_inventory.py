from dataclasses import dataclass, field

@dataclass
class Item:
    name: str
    price: float
    tags: list = field(default_factory=list)

items = [Item('pen', 1.5), Item('book', 12.0, ['paper'])]
print(sum(i.price for i in items))
print(sorted(items, key=lambda i: i.price)[-1])

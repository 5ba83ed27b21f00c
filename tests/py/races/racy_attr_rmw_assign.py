# expect: lost_update Account.balance
# self.balance = self.balance - amount: a read-modify-write spelled out.
import threading


class Account:
    def __init__(self):
        self.balance = 1000

    def withdraw(self, amount):
        self.balance = self.balance - amount


acct = Account()
threads = [threading.Thread(target=lambda: [acct.withdraw(1) for _ in range(200)])
           for _ in range(2)]
for t in threads:
    t.start()
for t in threads:
    t.join()

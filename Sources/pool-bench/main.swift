import PoolAdvisor
print(Machine.usableCores)

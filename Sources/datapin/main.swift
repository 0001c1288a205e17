import DatapinKit

print(DatapinVersion.current)

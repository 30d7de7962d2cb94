"""Discovery for callers' software: the document types a record accepts and the professions the access matrix
knows. A read side over two capabilities' reference data (records' type catalogue, access's matrix), so it sits
above both in the layers and neither imports the other for it."""

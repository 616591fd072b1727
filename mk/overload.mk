# mk/overload.mk — overload and crash test of `facescore serve` (issue 8 item 4; scripts/test-overload.sh):
#   make test-overload          CI form (--quick: 5 s capacity probe, 15 s at 2x capacity, 500 idle
#                               connections, kill -9 after 7 s of a 12 s load; about 40 s)
#   make test-overload FULL=1   the report's form (10 s probe, 60 s at 2x, 30 s kill test; about 2 min)
.PHONY: test-overload
test-overload: $(BIN)
	FS_BIN=$(BIN) scripts/test-overload.sh $(if $(FULL),,--quick)

# mk/grad_bench.mk — micro benchmark of the train/grad backward passes vs the runtime's forward
# kernels over faceres's layer shapes (bench/grad_bench.c):
#   make grad-bench && build/grad_bench --batch 8 --threads 1 --layers
.PHONY: grad-bench
grad-bench: $(BUILD)/grad_bench

$(BUILD)/grad_bench: bench/grad_bench.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ bench/grad_bench.c $(LIB) $(LDLIBS)

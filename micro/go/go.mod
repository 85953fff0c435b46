module concurrencylab/micro

go 1.19

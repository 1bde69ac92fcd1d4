using Passbox.Operator.Hosting;

await PassboxOperator.Build(args).RunAsync();

// Expects the one clear error that names the backend package to add, not TorchSharp's long trace.
using NewLlm;

try
{
    using var model = new NewLlmModel(new NewLlmOptions());
    Console.Error.WriteLine("FAIL: a model was created without any TorchSharp backend package.");
    return 1;
}
catch (InvalidOperationException ex) when (ex.Message.Contains("TorchSharp-cpu", StringComparison.Ordinal))
{
    Console.WriteLine($"OK: without a backend the library says: {ex.Message}");
    return 0;
}

using Microsoft.Extensions.Logging;

namespace NewLlm.Cli;

/// <summary>Loggers for a library object that asks for a factory (the curriculum runner): <see cref="ConsoleWarningLogger{T}"/> for every category.</summary>
internal sealed class ConsoleWarningLoggerFactory : ILoggerFactory
{
    public ILogger CreateLogger(string categoryName) => new ConsoleWarningLogger<object>();

    public void AddProvider(ILoggerProvider provider) => throw new NotSupportedException("The tool's console loggers take no providers.");

    public void Dispose()
    {
    }
}

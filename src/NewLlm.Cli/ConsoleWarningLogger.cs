using Microsoft.Extensions.Logging;

namespace NewLlm.Cli;

/// <summary>
/// The library's warnings and errors on the console as <c>warning: …</c> lines (its information and debug messages
/// stay quiet: the console reporter already shows the run). Microsoft.Extensions.Logging.Console would prefix every line with
/// the category and event id; a command-line tool's user wants the message.
/// </summary>
/// <typeparam name="T">The category.</typeparam>
internal sealed class ConsoleWarningLogger<T> : ILogger<T>
{
    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Warning;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (logLevel == LogLevel.Warning) // errors reach the user as the program's one error line
        {
            Console.Out.Flush();
            Console.Error.WriteLine($"warning: {formatter(state, exception)}");
        }
    }
}

using System.Reflection;
using NewLlm.Tests;

namespace NewLlm.Cli.Tests;

/// <summary>The newllm tool, built next to its project for the configuration the tests were built in, run as a <see cref="ChildProgram"/>.</summary>
internal static class ToolProcess
{
    public static string ProgramPath =>
        typeof(ToolProcess).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "newllm").Value!;

    public static ChildProgram Start(string workingDirectory, params string[] arguments) => ChildProgram.Start(ProgramPath, workingDirectory, arguments);

    public static ChildProgram StartWaitingForInput(string workingDirectory, params string[] arguments) => ChildProgram.StartWaitingForInput(ProgramPath, workingDirectory, arguments);

    public static Task<(int ExitCode, string Output)> RunAsync(string workingDirectory, params string[] arguments) => ChildProgram.RunAsync(ProgramPath, workingDirectory, arguments);
}

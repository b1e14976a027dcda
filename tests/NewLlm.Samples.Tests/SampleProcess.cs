using System.Globalization;
using System.Reflection;
using NewLlm.Tests;

namespace NewLlm.Samples.Tests;

/// <summary>A sample, built next to its project for the configuration the tests were built in, run to its end as a <see cref="ChildProgram"/>.</summary>
internal static class SampleProcess
{
    public static Task<(int ExitCode, string Output)> RunAsync(string sample, string workingDirectory, params string[] arguments) =>
        ChildProgram.RunAsync(ProgramPath(sample), workingDirectory, arguments);

    public static string ProgramPath(string sample) => string.Format(
        CultureInfo.InvariantCulture,
        typeof(SampleProcess).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "SampleProgram").Value!,
        sample);
}

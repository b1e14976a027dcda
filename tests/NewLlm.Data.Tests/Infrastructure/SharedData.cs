namespace NewLlm.Data.Tests.Infrastructure;

/// <summary>Finds <c>../shared</c> next to the repository root (the directory holding NewLlm.sln).</summary>
internal static class SharedData
{
    private static readonly Lazy<string?> Root = new(() =>
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "NewLlm.sln")))
        {
            dir = dir.Parent;
        }

        if (dir?.Parent is null)
        {
            return null;
        }

        string shared = Path.Combine(dir.Parent.FullName, "shared");
        return Directory.Exists(shared) ? shared : null;
    });

    public static string RepositoryRoot
    {
        get
        {
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "NewLlm.sln")))
            {
                dir = dir.Parent;
            }

            return dir?.FullName ?? throw new InvalidOperationException("NewLlm.sln not found above the test assembly.");
        }
    }

    /// <summary>The full HH-RLHF directory (<c>../shared/hh-rlhf</c>).</summary>
    public static string FullDirectory => Path.Combine(Root.Value ?? "<missing>", "hh-rlhf");

    /// <summary>The mini directory (<c>../shared/hh-rlhf-mini</c>).</summary>
    public static string MiniDirectory => Path.Combine(Root.Value ?? "<missing>", "hh-rlhf-mini");

    /// <summary>The real harmless-base test file.</summary>
    public static string HarmlessTestFile => Path.Combine(FullDirectory, "harmless-base", "test.jsonl.gz");

    /// <summary>The reference Python module.</summary>
    public static string ReferenceScript => Path.Combine(Root.Value ?? "<missing>", "reference", "newllm_reference.py");

    /// <summary>Skips the test when a shared file is absent.</summary>
    public static void SkipUnlessExists(string path) =>
        Skip.IfNot(File.Exists(path), $"Shared data '{path}' is absent (expected in ../shared next to the repository root); skipped.");
}

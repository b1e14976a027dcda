namespace NewLlm.Core.Tests;

/// <summary>Locates the repository root and the read-only <c>../shared</c> folder beside it.</summary>
internal static class TestPaths
{
    public static string RepositoryRoot { get; } = FindRoot();

    /// <summary>The <c>shared/reference/fixtures</c> folder beside the repository, or null when it is absent.</summary>
    public static string? SharedFixtures
    {
        get
        {
            string path = Path.GetFullPath(Path.Combine(RepositoryRoot, "..", "shared", "reference", "fixtures"));
            return Directory.Exists(path) ? path : null;
        }
    }

    /// <summary>The fixture copied into the test project (parity-l2-small), always present.</summary>
    public static string BundledFixture(string name) => Path.Combine(AppContext.BaseDirectory, "Fixtures", name);

    private static string FindRoot()
    {
        for (DirectoryInfo? dir = new(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "NewLlm.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"NewLlm.sln not found above {AppContext.BaseDirectory}.");
    }
}

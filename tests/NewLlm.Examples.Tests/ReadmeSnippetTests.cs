using System.Text;
using System.Text.RegularExpressions;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace NewLlm.Examples.Tests;

/// <summary>
/// Every <c>```csharp</c> block of <c>README.md</c> and <c>src/*/README.md</c> compiles as the <c>Program.cs</c> of a
/// console project with implicit usings and nullable on, referencing NewLlm.Training (so NewLlm.Core and NewLlm.Data
/// too) and xunit. A block right after the line <c>&lt;!-- continues --&gt;</c> is pasted below the block before it
/// (its <c>using</c> lines moved to the top) and compiled with it. Warnings count as errors.
/// </summary>
public class ReadmeSnippetTests
{
    /// <summary>The line that makes the next block continue the one before it.</summary>
    public const string ContinuesMarker = "<!-- continues -->";

    private static readonly string[] ImplicitUsings =
        ["System", "System.Collections.Generic", "System.IO", "System.Linq", "System.Net.Http", "System.Threading", "System.Threading.Tasks"];

    private static readonly Lazy<MetadataReference[]> References = new(LoadReferences);

    public static TheoryData<string> Readmes()
    {
        var data = new TheoryData<string>();
        foreach (string path in ReadmePaths())
        {
            data.Add(path);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Readmes))]
    public void EveryCSharpBlockOfTheReadmeCompiles(string readme)
    {
        string text = File.ReadAllText(Path.Combine(RepositoryRoot, readme));
        IReadOnlyList<Snippet> snippets = Snippets(readme, text);
        var failures = new List<string>();
        foreach (Snippet snippet in snippets)
        {
            failures.AddRange(Compile(snippet));
        }

        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    [Fact]
    public void TheReadmesHoldCSharpBlocks()
    {
        // Guards the extraction itself: the repository README has its minimal program, generation and callback blocks.
        string readme = File.ReadAllText(Path.Combine(RepositoryRoot, "README.md"));
        Assert.True(Snippets("README.md", readme).Count >= 2);
        Assert.Contains("src/NewLlm.Training/README.md", ReadmePaths());
    }

    [Fact]
    public void ABrokenBlockIsReportedWithItsFileAndLine()
    {
        const string markdown = "# T\n\n```csharp\nusing NewLlm;\nvar model = new NewLlmModel(new NewLlmOptions { VocabSize = 10 });\n```\n\n" +
            ContinuesMarker + "\n```csharp\nusing NewLlm.Training;\nint tokens = model.ParameterCount;\n```\n";
        IReadOnlyList<Snippet> snippets = Snippets("T.md", markdown);
        Snippet continued = Assert.Single(snippets);
        string failure = Assert.Single(Compile(continued));
        Assert.Contains("T.md:11", failure);
        Assert.Contains("CS0266", failure); // long to int: the error is in the continuing block, found in its own line numbers
    }

    /// <summary>A compilation unit: one block, or a block with the ones that continue it.</summary>
    private sealed record Snippet(string Source, List<(int Line, string Code)> Blocks);

    private static string RepositoryRoot { get; } = FindRoot();

    private static IEnumerable<string> ReadmePaths()
    {
        yield return "README.md";
        foreach (string folder in Directory.EnumerateDirectories(Path.Combine(RepositoryRoot, "src")).Order(StringComparer.Ordinal))
        {
            if (File.Exists(Path.Combine(folder, "README.md")))
            {
                yield return $"src/{Path.GetFileName(folder)}/README.md";
            }
        }
    }

    private static IReadOnlyList<Snippet> Snippets(string source, string markdown)
    {
        string[] lines = markdown.ReplaceLineEndings("\n").Split('\n');
        var snippets = new List<Snippet>();
        for (int i = 0; i < lines.Length; i++)
        {
            if (lines[i].Trim() != "```csharp")
            {
                continue;
            }

            int start = i + 1;
            int end = start;
            while (end < lines.Length && lines[end].Trim() != "```")
            {
                end++;
            }

            Assert.True(end < lines.Length, $"{source}:{i + 1}: the ```csharp block is never closed.");
            string code = string.Join("\n", lines[start..end]);
            bool continues = PreviousNonBlank(lines, i) == ContinuesMarker;
            if (continues)
            {
                Assert.True(snippets.Count > 0, $"{source}:{i + 1}: '{ContinuesMarker}' before the first C# block: there is nothing to continue.");
                snippets[^1].Blocks.Add((start + 1, code));
            }
            else
            {
                snippets.Add(new Snippet(source, [(start + 1, code)]));
            }

            i = end;
        }

        return snippets;
    }

    private static string? PreviousNonBlank(string[] lines, int index)
    {
        for (int i = index - 1; i >= 0; i--)
        {
            if (lines[i].Trim().Length > 0)
            {
                return lines[i].Trim();
            }
        }

        return null;
    }

    /// <summary>Compiles a snippet; returns one line per error or warning, at its README file and line.</summary>
    private static List<string> Compile(Snippet snippet)
    {
        // Paste the blocks one below the other, the using directives of the later ones moved to the top; a #line
        // directive before each part keeps the diagnostics at the README's own line numbers.
        var usings = new StringBuilder();
        var body = new StringBuilder();
        foreach ((int line, string code) in snippet.Blocks)
        {
            var root = (CompilationUnitSyntax)CSharpSyntaxTree.ParseText(code).GetRoot();
            foreach (UsingDirectiveSyntax directive in root.Usings)
            {
                int directiveLine = line + directive.GetLocation().GetLineSpan().StartLinePosition.Line;
                usings.Append($"#line {directiveLine} \"{snippet.Source}\"\n").Append(directive.ToString()).Append('\n');
            }

            int restStart = root.Usings.Count == 0 ? 0 : root.Usings[^1].FullSpan.End;
            int restLine = line + root.SyntaxTree.GetLineSpan(new Microsoft.CodeAnalysis.Text.TextSpan(restStart, 0)).StartLinePosition.Line;
            body.Append($"#line {restLine} \"{snippet.Source}\"\n").Append(code[restStart..]).Append('\n');
        }

        string program = usings.ToString() + body;
        var options = new CSharpParseOptions(LanguageVersion.Latest);
        SyntaxTree tree = CSharpSyntaxTree.ParseText(program, options, path: snippet.Source);
        SyntaxTree globals = CSharpSyntaxTree.ParseText(string.Concat(ImplicitUsings.Select(u => $"global using global::{u};\n")), options, path: "GlobalUsings.g.cs");
        bool topLevel = ((CompilationUnitSyntax)tree.GetRoot()).Members.OfType<GlobalStatementSyntax>().Any();
        var compilation = CSharpCompilation.Create(
            "ReadmeSnippet",
            [globals, tree],
            References.Value,
            new CSharpCompilationOptions(topLevel ? OutputKind.ConsoleApplication : OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable));
        using var output = new MemoryStream();
        return compilation.Emit(output).Diagnostics
            .Where(d => d.Severity is DiagnosticSeverity.Error or DiagnosticSeverity.Warning)
            .Select(d =>
            {
                FileLinePositionSpan where = d.Location.GetMappedLineSpan();
                return $"{where.Path}:{where.StartLinePosition.Line + 1}: {d.Severity.ToString().ToLowerInvariant()} {d.Id}: {d.GetMessage(System.Globalization.CultureInfo.InvariantCulture)}";
            })
            .ToList();
    }

    private static MetadataReference[] LoadReferences()
    {
        // The framework and every assembly the test runs with (NewLlm.*, TorchSharp, Microsoft.ML.Tokenizers, xunit, ...).
        var paths = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator)
            .Concat(Directory.EnumerateFiles(AppContext.BaseDirectory, "*.dll"))
            .Where(p => !Path.GetFileName(p).StartsWith("Microsoft.CodeAnalysis", StringComparison.Ordinal))
            .GroupBy(Path.GetFileName, StringComparer.OrdinalIgnoreCase)
            .Select(g => g.First());
        return paths.Select(p => (MetadataReference)MetadataReference.CreateFromFile(p)).ToArray();
    }

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

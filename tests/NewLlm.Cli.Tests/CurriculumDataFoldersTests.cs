using NewLlm.Training;

namespace NewLlm.Cli.Tests;

/// <summary><c>newllm curriculum --data-dir</c>: NAME=PATH per level, or a ROOT with a subfolder per level (by its name or its Hub repository's).</summary>
public sealed class CurriculumDataFoldersTests
{
    [Fact]
    public void ARootFindsEachLevelsFolderByItsNameOrItsHubRepositorysAndNamedFoldersComeFirst()
    {
        using var temp = new TempDirectory();
        string dolly = Directory.CreateDirectory(temp.Combine("root", "databricks-dolly-15k")).FullName;
        string hh = Directory.CreateDirectory(temp.Combine("root", "hh-rlhf")).FullName;
        string other = Directory.CreateDirectory(temp.Combine("elsewhere")).FullName;
        CurriculumRecipe recipe = CurriculumRecipe.Original.Select("dolly", "hh-rlhf", "ultrachat");

        var folders = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        CurriculumDataFolders.Resolve([temp.Combine("root"), $"hh-rlhf={other}"], recipe, folders);
        Assert.Equal(new Dictionary<string, string> { ["dolly"] = dolly, ["hh-rlhf"] = other }, folders); // ultrachat: none, so the Hub

        folders.Clear();
        CurriculumDataFolders.Resolve([temp.Combine("root")], recipe, folders);
        Assert.Equal(hh, folders["hh-rlhf"]);
        var ex = Assert.Throws<ArgumentException>(() => CurriculumDataFolders.Resolve(["maths=/nowhere"], recipe, folders));
        Assert.Equal("--data-dir maths=/nowhere: 'maths' is not a level of this curriculum (dolly, hh-rlhf, ultrachat).", ex.Message);

        // A level of the plan that this run leaves out: its folder is ignored (a command line reused with fewer --levels).
        folders.Clear();
        CurriculumDataFolders.Resolve([$"math={other}", $"dolly={dolly}"], recipe, folders);
        Assert.Equal(new Dictionary<string, string> { ["dolly"] = dolly }, folders);
    }

    [Fact]
    public void ARootFindsCodeAlpacasFileAndMathsTreeOrZipAsTheyArePublished()
    {
        using var temp = new TempDirectory();
        string root = Directory.CreateDirectory(temp.Combine("root")).FullName;
        File.WriteAllText(Path.Combine(root, "code_alpaca_20k.json"), "[]");
        File.WriteAllText(Path.Combine(root, "MATH.zip"), string.Empty);
        var folders = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        CurriculumDataFolders.Resolve([root], CurriculumRecipe.Original.Select("codealpaca", "math"), folders);
        Assert.Equal(Path.Combine(root, "code_alpaca_20k.json"), folders["codealpaca"]);
        Assert.Equal(Path.Combine(root, "MATH.zip"), folders["math"]);

        string tree = Directory.CreateDirectory(Path.Combine(root, "MATH")).FullName;
        folders.Clear();
        CurriculumDataFolders.Resolve([root], CurriculumRecipe.Original.Select("math"), folders);
        Assert.Equal(tree, folders["math"]);
    }
}

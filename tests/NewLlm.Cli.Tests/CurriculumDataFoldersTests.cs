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
        var ex = Assert.Throws<ArgumentException>(() => CurriculumDataFolders.Resolve(["math=/nowhere"], recipe, folders));
        Assert.Equal("--data-dir math=/nowhere: 'math' is not a level of this curriculum (dolly, hh-rlhf, ultrachat).", ex.Message);
    }
}

namespace NewLlm.Data.Tests;

public class HhRlhfLayoutTests
{
    [Theory]
    [InlineData("helpful", HhRlhfSubset.Helpful)]
    [InlineData("harmless", HhRlhfSubset.Harmless)]
    [InlineData("Harmless", HhRlhfSubset.Harmless)]
    [InlineData("HARMLESS", HhRlhfSubset.Harmless)]
    [InlineData("harmless-base", HhRlhfSubset.Harmless)]
    [InlineData("Harmless-Base", HhRlhfSubset.Harmless)]
    [InlineData("helpful-base", HhRlhfSubset.Helpful)]
    [InlineData("helpful-online", HhRlhfSubset.HelpfulOnline)]
    [InlineData("HelpfulOnline", HhRlhfSubset.HelpfulOnline)]
    [InlineData("helpful-rejection-sampled", HhRlhfSubset.HelpfulRejectionSampled)]
    [InlineData("all", HhRlhfSubset.All)]
    [InlineData(" All ", HhRlhfSubset.All)]
    public void SubsetParseAcceptsShortNamesHubFolderNamesAndEnumNamesIgnoringCase(string name, HhRlhfSubset expected)
    {
        Assert.Equal(expected, HhRlhfLayout.ParseSubset(name));
        Assert.True(HhRlhfLayout.TryParseSubset(name, out var parsed));
        Assert.Equal(expected, parsed);
    }

    [Theory]
    [InlineData("harmful")]
    [InlineData("")]
    [InlineData("helpful-base/train.jsonl.gz")]
    [InlineData(null)]
    public void SubsetParseRejectsOtherNamesListingTheAcceptedOnesOnOneLine(string? name)
    {
        Assert.False(HhRlhfLayout.TryParseSubset(name, out _));
        var e = Assert.Throws<FormatException>(() => HhRlhfLayout.ParseSubset(name!));
        Assert.DoesNotContain('\t', e.Message);
        Assert.DoesNotContain('\n', e.Message);
        foreach (string accepted in HhRlhfLayout.SubsetNames)
        {
            Assert.Contains(accepted, e.Message, StringComparison.Ordinal);
        }

        Assert.Contains("harmless-base", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void SubsetNamesAreTheShortNamesAndEachParsesBackToADistinctSubset()
    {
        Assert.Equal(["helpful", "harmless", "helpful-online", "helpful-rejection-sampled", "all"], HhRlhfLayout.SubsetNames);
        Assert.Equal(Enum.GetValues<HhRlhfSubset>(), HhRlhfLayout.SubsetNames.Select(HhRlhfLayout.ParseSubset).Order());
        Assert.All(Enum.GetValues<HhRlhfSubset>(), s => Assert.Equal(s, HhRlhfLayout.ParseSubset(HhRlhfLayout.GetSubsetName(s))));
    }
}

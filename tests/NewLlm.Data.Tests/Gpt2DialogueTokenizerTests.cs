namespace NewLlm.Data.Tests;

public class Gpt2DialogueTokenizerTests
{
    private static readonly Gpt2DialogueTokenizer Tokenizer = Gpt2DialogueTokenizer.Create();

    [Fact]
    public void SpecialIdsKeepIdZeroAReadToken()
    {
        Assert.Equal(("gpt2", 50258, 50257, 50256, 50256), (Tokenizer.Kind, Tokenizer.VocabSize, Tokenizer.PadId, Tokenizer.BosId, Tokenizer.EosId));
        Assert.Equal([0], Tokenizer.Encode("!"));
    }

    [Fact]
    public void EncodeUsesGpt2Vocabulary()
    {
        Assert.Equal([15496, 995], Tokenizer.Encode("Hello world"));
        Assert.Equal("Hello world", Tokenizer.Decode([50256, 15496, 995, 50256, 50257]));
    }

    [Fact]
    public void EncodeDialoguePadsWithExtraId()
    {
        int[] ids = Tokenizer.EncodeDialogue("Hello world", 6, out int length, out long bytes);
        Assert.Equal([50256, 15496, 995, 50256, 50257, 50257], ids);
        Assert.Equal(4, length);
        Assert.Equal(11, bytes);
        ids = Tokenizer.EncodeDialogue("Hello world", 2, out length, out bytes);
        Assert.Equal([50256, 15496], ids);
        Assert.Equal(5, bytes);
    }

    [Fact]
    public void SaveLoadRoundTrips()
    {
        using var stream = new MemoryStream();
        Tokenizer.Save(stream);
        stream.Position = 0;
        var loaded = Assert.IsType<Gpt2DialogueTokenizer>(DialogueTokenizer.Load(stream));
        Assert.Equal(Tokenizer.Fingerprint, loaded.Fingerprint);
        Assert.NotEqual(WordLevelTokenizer.Build(["a"], 5).Fingerprint, loaded.Fingerprint);
    }
}

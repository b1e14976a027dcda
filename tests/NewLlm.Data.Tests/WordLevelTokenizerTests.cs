using System.Text.Json;
using NewLlm.Data.Tests.Infrastructure;
using NewLlm.Tests;

namespace NewLlm.Data.Tests;

public class WordLevelTokenizerTests
{
    [Fact]
    public void BuildOrdersByFrequencyThenFirstOccurrence()
    {
        var tokenizer = WordLevelTokenizer.Build(["b a c", "C a d", "e"], vocabularySize: 8);
        // counts: a 2, c 2, b 1, d 1, e 1; ties keep first-seen order: a before c (a seen first? "b a c": b, a, c).
        Assert.Equal(["a", "c", "b", "d"], tokenizer.Words);
        Assert.Equal(8, tokenizer.VocabSize);
        Assert.Equal((0, 1, 2, 3), (tokenizer.PadId, tokenizer.UnkId, tokenizer.BosId, tokenizer.EosId));
        Assert.Equal(4, tokenizer.GetId("A"));
        Assert.Equal(1, tokenizer.GetId("e"));
        Assert.Equal("word", tokenizer.Kind);
    }

    [Fact]
    public void EncodeDialogueAddsBosEosTruncatesAndPads()
    {
        var tokenizer = WordLevelTokenizer.Build(["x y z"], 10);
        Assert.Equal([2, 4, 5, 1, 3, 0, 0], tokenizer.EncodeDialogue("X y unknown", 7));
        Assert.Equal([2, 4, 5], tokenizer.EncodeDialogue("x y z", 3));           // EOS truncated like ids[:length]
        Assert.Equal([2, 4, 5, 6], tokenizer.EncodeDialogue("x y z", 4));
        Assert.Equal([2, 3], tokenizer.EncodeDialogue("", 2));
        Assert.Equal([4, 6, 1], tokenizer.Encode("x z w"));
    }

    [Fact]
    public void EncodeDialogueReportsLengthAndCoveredBytes()
    {
        var tokenizer = WordLevelTokenizer.Build(["héllo wörld foo"], 10);
        tokenizer.EncodeDialogue("héllo wörld foo", 10, out int length, out long bytes);
        Assert.Equal(5, length);
        Assert.Equal(17, bytes); // all 15 chars, é and ö take 2 bytes
        tokenizer.EncodeDialogue("héllo wörld foo", 3, out length, out bytes);
        Assert.Equal(3, length);
        Assert.Equal(13, bytes); // "héllo wörld"
    }

    [Fact]
    public void EncodeLowerCasesLikeBuildForSpecialAndAstralCharacters()
    {
        string[] words = ["\U00010400X", "\u0130ZMIR", "\u039f\u0394\u039f\u03a3", new string('Q', 300)];
        var tokenizer = WordLevelTokenizer.Build([string.Join(" ", words)], 10);
        Assert.Equal(["\U00010428x", "i\u0307zmir", "\u03bf\u03b4\u03bf\u03c2", new string('q', 300)], tokenizer.Words);
        Assert.Equal([4, 5, 6, 7], tokenizer.Encode(string.Join("\u3000", words)));
        Assert.Equal([4, 5, 6, 7], tokenizer.Encode(string.Join(" ", tokenizer.Words)));
    }

    [Fact]
    public void DecodeSkipsSpecialIds()
    {
        var tokenizer = WordLevelTokenizer.Build(["hello world"], 10);
        Assert.Equal("hello <unk> world", tokenizer.Decode([2, 4, 1, 5, 3, 0, 0]));
    }

    [Fact]
    public void SaveLoadRoundTripsAndKeepsFingerprint()
    {
        var tokenizer = WordLevelTokenizer.Build(["the cat sat on the mat"], 12);
        using var stream = new MemoryStream();
        tokenizer.Save(stream);
        stream.Position = 0;
        var loaded = Assert.IsType<WordLevelTokenizer>(DialogueTokenizer.Load(stream));
        Assert.Equal(tokenizer.Words, loaded.Words);
        Assert.Equal(tokenizer.VocabSize, loaded.VocabSize);
        Assert.Equal(tokenizer.Fingerprint, loaded.Fingerprint);
        Assert.Equal(tokenizer.EncodeDialogue("the mat", 6), loaded.EncodeDialogue("the mat", 6));

        var other = WordLevelTokenizer.Build(["the cat sat on the rug"], 12);
        Assert.NotEqual(tokenizer.Fingerprint, other.Fingerprint);
        Assert.NotEqual(tokenizer.Fingerprint, WordLevelTokenizer.Build(["the cat sat on the mat"], 13).Fingerprint);
    }

    [Fact]
    public async Task SaveAsyncLoadAsyncUseFiles()
    {
        using var temp = new TempDirectory();
        var tokenizer = WordLevelTokenizer.Build(["a b c"], 7);
        string path = temp.Combine("tokenizer.json");
        await tokenizer.SaveAsync(path);
        var loaded = await DialogueTokenizer.LoadAsync(path);
        Assert.Equal(tokenizer.Fingerprint, loaded.Fingerprint);
        Assert.Single(Directory.GetFiles(temp.Path));
    }

    [Theory]
    [InlineData("{\"kind\":\"sentencepiece\",\"format\":1}")]
    [InlineData("{\"kind\":\"word\",\"format\":2}")]
    [InlineData("{\"kind\":\"word\",\"format\":1,\"vocabSize\":6,\"padId\":0,\"unkId\":1,\"bosId\":2,\"eosId\":3,\"words\":[\"a\",\"a\"]}")]
    [InlineData("{\"kind\":\"word\",\"format\":1,\"vocabSize\":5,\"padId\":0,\"unkId\":1,\"bosId\":2,\"eosId\":3,\"words\":[\"a\",\"b\"]}")]
    [InlineData("not json")]
    public void LoadRejectsBadJson(string json) =>
        Assert.Throws<InvalidDataException>(() => DialogueTokenizer.Load(new MemoryStream(System.Text.Encoding.UTF8.GetBytes(json))));

    [Fact]
    public void MlTokenizerHonoursMaxTokenCount()
    {
        var tokenizer = WordLevelTokenizer.Build(["one two three"], 10);
        var ids = tokenizer.Tokenizer.EncodeToIds("one  two three", 2, out _, out int consumed);
        Assert.Equal([4, 5], ids);
        Assert.Equal(8, consumed);
        Assert.Equal(3, tokenizer.Tokenizer.CountTokens("one two three"));
        var tokens = tokenizer.Tokenizer.EncodeToTokens("Two one", out _);
        Assert.Equal(["two", "one"], tokens.Select(t => t.Value));
        Assert.Equal(new Range(4, 7), tokens[1].Offset);
    }

    /// <summary>The vocabulary built on the mini train split equals the Python reference WordVocab, word by word.</summary>
    [SkippableFact]
    public async Task BuildEqualsPythonReferenceOnMiniTrain()
    {
        string train = Path.Combine(SharedData.MiniDirectory, "harmless-base", "train.jsonl.gz");
        string test = Path.Combine(SharedData.MiniDirectory, "harmless-base", "test.jsonl.gz");
        SharedData.SkipUnlessExists(train);
        SharedData.SkipUnlessExists(SharedData.ReferenceScript);
        string? python = Python.WithTorch.Value;
        Skip.If(python is null, "/usr/bin/python3 cannot import torch (install python3-torch); reference comparison skipped.");
        const string script = """
            import importlib.util, json, sys
            spec = importlib.util.spec_from_file_location("newllm_reference", sys.argv[1])
            ref = importlib.util.module_from_spec(spec); spec.loader.exec_module(ref)
            tr = ref.load_chosen(sys.argv[2]); te = ref.load_chosen(sys.argv[3])
            v = ref.WordVocab(tr, 1000)
            print(json.dumps({"rows": len(tr), "ids": v.ids, "encoded": [v.encode(t, 128) for t in te]}))
            """;
        using var json = JsonDocument.Parse(Python.Run(python!, script, SharedData.ReferenceScript, train, test));

        var trainSet = await HhRlhfDataset.LoadFromDirectoryAsync(SharedData.MiniDirectory, HhRlhfSubset.Harmless, HhRlhfSplit.Train);
        var testSet = await HhRlhfDataset.LoadFromDirectoryAsync(SharedData.MiniDirectory, HhRlhfSubset.Harmless, HhRlhfSplit.Test);
        Assert.Equal(json.RootElement.GetProperty("rows").GetInt32(), trainSet.Count);
        var tokenizer = WordLevelTokenizer.Build(trainSet.GetNormalizedChosenTexts(), 1000);

        var expected = json.RootElement.GetProperty("ids").EnumerateObject().OrderBy(p => p.Value.GetInt32()).Select(p => p.Name).ToArray();
        Assert.Equal(996, expected.Length);
        Assert.Equal(expected, tokenizer.Words);

        var encoded = json.RootElement.GetProperty("encoded").EnumerateArray().ToArray();
        Assert.Equal(testSet.Count, encoded.Length);
        for (int i = 0; i < testSet.Count; i++)
        {
            Assert.Equal(encoded[i].EnumerateArray().Select(e => e.GetInt32()), tokenizer.EncodeDialogue(testSet[i].NormalizedChosen, 128));
        }
    }
}

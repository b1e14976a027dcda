using Microsoft.ML.Tokenizers;

namespace NewLlm.Core.Tests;

public class TextGenerationTests
{
    // GPT-2's byte-level BPE, from the package the Data library uses: accented letters, emoji and CJK characters are
    // split across several tokens, so a token decoded on its own can be half a character.
    private static readonly Lazy<TiktokenTokenizer> Gpt2 = new(() => TiktokenTokenizer.CreateForModel("gpt2"));

    private const string MultiByteText = "Le café 😀 est prêt: 日本語 naïve 🎉🎉 end";

    private static NewLlmModel Model() =>
        new(new NewLlmOptions { VocabSize = 50257, EmbedDim = 8, HiddenDim = 16, ContextDim = 8, Dropout = 0, Seed = 3 });

    [Fact]
    public void AMultiByteCharacterSplitAcrossTokensIsNeverEmittedBroken()
    {
        IReadOnlyList<int> ids = Gpt2.Value.EncodeToIds(MultiByteText);
        // The premise: decoding token by token breaks characters.
        Assert.NotEqual(MultiByteText, string.Concat(ids.Select(id => Gpt2.Value.Decode([id]))));

        string[] pieces = NewLlmGenerator.DecodeByWords(Gpt2.Value, ids).ToArray();

        Assert.Equal(MultiByteText, string.Concat(pieces));
        Assert.All(pieces, piece => Assert.DoesNotContain('\uFFFD', piece));
        Assert.Equal(["Le ", "café ", "😀 ", "est ", "prêt: ", "日本語 ", "naïve ", "🎉🎉 ", "end"], pieces);
    }

    [Fact]
    public void APieceIsYieldedAsSoonAsItsWordIsFollowedByWhitespace()
    {
        IReadOnlyList<int> ids = Gpt2.Value.EncodeToIds("one two three");
        var seen = new List<int>();
        var yieldedAfter = new List<int>();
        foreach (string piece in NewLlmGenerator.DecodeByWords(Gpt2.Value, Recorded(ids, seen)))
        {
            yieldedAfter.Add(seen.Count);
        }

        // "one" is stable once " two" has arrived (token 2), "two" once " three" has (token 3); "three" at the end.
        Assert.Equal([2, 3, 3], yieldedAfter);
    }

    [Fact]
    public void StreamedTextConcatenatesToTheOneCallTextAndToTheDecodedTokens()
    {
        using var model = Model();
        var generator = new NewLlmGenerator(model);
        var options = new GenerationOptions { Temperature = 1.0, Seed = 5, MaxNewTokens = 48 };
        const string prompt = "Human: où est le café? Assistant:";

        string[] pieces = generator.StreamText(Gpt2.Value, prompt, options).ToArray();
        string whole = generator.GenerateText(Gpt2.Value, prompt, options);
        int[] tokens = generator.Generate(Gpt2.Value.EncodeToIds(prompt), options).ToArray();

        Assert.Equal(whole, string.Concat(pieces));
        Assert.Equal(Gpt2.Value.Decode(tokens), whole);
        Assert.True(pieces.Length > 1, "an untrained model over 48 GPT-2 tokens writes more than one word");
        Assert.All(pieces[..^1], piece => Assert.True(char.IsWhiteSpace(piece[^1]), $"'{piece}' does not end a word"));
    }

    [Fact]
    public void TextGenerationContinuesASession()
    {
        using var model = Model();
        var generator = new NewLlmGenerator(model);
        var options = new GenerationOptions { Greedy = true, MaxNewTokens = 6 };
        using var session = new GenerationSession(model);
        string first = generator.GenerateText(Gpt2.Value, "Human: hello Assistant:", options, session);
        string second = generator.GenerateText(Gpt2.Value, " Human: again Assistant:", options, session);

        using var tokenSession = new GenerationSession(model);
        int[] a = generator.Generate(Gpt2.Value.EncodeToIds("Human: hello Assistant:"), options, tokenSession).ToArray();
        int[] b = generator.Generate(Gpt2.Value.EncodeToIds(" Human: again Assistant:"), options, tokenSession).ToArray();
        Assert.Equal(Gpt2.Value.Decode(a), first);
        Assert.Equal(Gpt2.Value.Decode(b), second);
        Assert.Equal(tokenSession.TokensSeen, session.TokensSeen);
    }

    [Fact]
    public async Task StreamTextAsyncYieldsTheSamePiecesAsStreamText()
    {
        using var model = Model();
        var generator = new NewLlmGenerator(model);
        var options = new GenerationOptions { Temperature = 1.0, Seed = 5, MaxNewTokens = 48, StopStrings = { "Human:" } };
        const string prompt = "Human: où est le café? Assistant:";
        using var syncSession = new GenerationSession(model);
        using var asyncSession = new GenerationSession(model);

        string[] expected = generator.StreamText(Gpt2.Value, prompt, options, syncSession).ToArray();
        var pieces = new List<string>();
        await foreach (string piece in generator.StreamTextAsync(Gpt2.Value, prompt, options, asyncSession))
        {
            pieces.Add(piece);
        }

        Assert.True(expected.Length > 1, "an untrained model over 48 GPT-2 tokens writes more than one word");
        Assert.Equal(expected, pieces);
        Assert.Equal(syncSession.TokensSeen, asyncSession.TokensSeen);
        Assert.Equal(syncSession.StopReason, asyncSession.StopReason);
    }

    [Fact]
    public async Task CancellingStreamTextAsyncStopsGenerationBetweenTokens()
    {
        using var model = Model();
        var generator = new NewLlmGenerator(model);
        var options = new GenerationOptions { Temperature = 1.0, Seed = 5, MaxNewTokens = 5000, StopAtEndOfSequence = false };
        foreach (bool throughWithCancellation in new[] { false, true })
        {
            using var session = new GenerationSession(model);
            using var cancel = new CancellationTokenSource();
            var pieces = new List<string>();

            await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
            {
                IAsyncEnumerable<string> stream = generator.StreamTextAsync(Gpt2.Value, "Hello", options, session, throughWithCancellation ? default : cancel.Token);
                await foreach (string piece in stream.WithCancellation(throughWithCancellation ? cancel.Token : default))
                {
                    pieces.Add(piece);
                    await cancel.CancelAsync();
                }
            });

            Assert.Single(pieces);
            Assert.InRange(session.TokensSeen, 2, 100); // the prompt and the first word's tokens, not 5000
            Assert.Null(session.StopReason);
        }
    }

    [Fact]
    public void StreamTextAsyncRejectsBadArgumentsWhenCalled()
    {
        using var model = Model();
        var generator = new NewLlmGenerator(model);
        Assert.Throws<ArgumentNullException>(() => generator.StreamTextAsync(null!, "x", new GenerationOptions()));
        Assert.Contains("prompt", Assert.Throws<ArgumentException>(() => generator.StreamTextAsync(Gpt2.Value, string.Empty, new GenerationOptions())).Message);
    }

    [Fact]
    public void BadArgumentsAreRejectedWhenCalledNotWhenEnumerated()
    {
        using var model = Model();
        var generator = new NewLlmGenerator(model);
        var options = new GenerationOptions();
        Assert.Throws<ArgumentNullException>(() => generator.StreamText(null!, "x", options));
        Assert.Throws<ArgumentNullException>(() => generator.StreamText(Gpt2.Value, null!, options));
        Assert.Contains("prompt", Assert.Throws<ArgumentException>(() => generator.StreamText(Gpt2.Value, string.Empty, options)).Message);
        Assert.Throws<Microsoft.Extensions.Options.OptionsValidationException>(() => generator.StreamText(Gpt2.Value, "x", new GenerationOptions { TopP = 2 }));
        Assert.Throws<ArgumentNullException>(() => NewLlmGenerator.DecodeByWords(Gpt2.Value, null!));
    }

    private static IEnumerable<int> Recorded(IEnumerable<int> ids, List<int> seen)
    {
        foreach (int id in ids)
        {
            seen.Add(id);
            yield return id;
        }
    }
}

using Microsoft.Extensions.Options;
using Microsoft.ML.Tokenizers;
using TorchSharp;
using static TorchSharp.torch;

namespace NewLlm.Core.Tests;

/// <summary>Where generation ends: the end-of-sequence token, stop strings matched on the decoded text.</summary>
public class GenerationStopTests
{
    private static readonly Lazy<TiktokenTokenizer> Gpt2 = new(() => TiktokenTokenizer.CreateForModel("gpt2"));

    private const int EndOfText = 50256;

    private static NewLlmModel SmallModel()
    {
        var model = new NewLlmModel(new NewLlmOptions { VocabSize = 25, EmbedDim = 8, HiddenDim = 16, ContextDim = 8, Dropout = 0, Seed = 9 });
        using (torch.no_grad())
        {
            foreach (Tensor p in model.parameters())
            {
                p.mul_(50);   // sharper distributions make greedy choices clear-cut
            }
        }

        return model;
    }

    // GPT-2's vocabulary, untrained: sampling at temperature 1 writes varied text; endOfTextLogit raises <|endoftext|>.
    private static NewLlmModel Gpt2Model(float endOfTextLogit = 0)
    {
        var model = new NewLlmModel(new NewLlmOptions { VocabSize = 50257, EmbedDim = 8, HiddenDim = 16, ContextDim = 8, Dropout = 0, Seed = 3 });
        using (torch.no_grad())
        {
            Tensor bias = model.named_parameters().Single(p => p.name == "token_output.bias").parameter;
            bias[EndOfText] = bias[EndOfText] + endOfTextLogit;
        }

        return model;
    }

    [Fact]
    public void GenerationStopsAtTheEndOfSequenceIdByDefaultAndTheOptOutGoesOn()
    {
        using var model = SmallModel();
        var generator = new NewLlmGenerator(model);
        int[] free = generator.Generate([2], new GenerationOptions { Greedy = true, MaxNewTokens = 12 }).ToArray();
        Assert.Equal(12, free.Length); // without an id, Generate has no end-of-sequence token to stop at
        int endOfSequence = free[4];
        int first = Array.IndexOf(free, endOfSequence);

        using var session = new GenerationSession(model);
        int[] stopped = generator.Generate([2], new GenerationOptions { Greedy = true, MaxNewTokens = 12, EndOfSequenceId = endOfSequence }, session).ToArray();
        Assert.Equal(free[..first], stopped);
        Assert.Equal(GenerationStopReason.EndOfSequence, session.StopReason);
        Assert.Equal(1 + first + 1, session.TokensSeen); // the session has read the end-of-sequence token

        using var goingOn = new GenerationSession(model);
        var optOut = new GenerationOptions { Greedy = true, MaxNewTokens = 12, EndOfSequenceId = endOfSequence, StopAtEndOfSequence = false };
        Assert.Equal(free, generator.Generate([2], optOut, goingOn).ToArray());
        Assert.Equal(GenerationStopReason.MaxNewTokens, goingOn.StopReason);
    }

    [Fact]
    public void TokensHeldBackForAStopSequenceAreEmittedWhenTheEndOfSequenceComesInstead()
    {
        using var model = SmallModel();
        var generator = new NewLlmGenerator(model);
        int[] free = generator.Generate([2], new GenerationOptions { Greedy = true, MaxNewTokens = 12 }).ToArray();
        int endOfSequence = free[5];
        int first = Array.IndexOf(free, endOfSequence);
        Assert.True(first > 0);
        var options = new GenerationOptions { Greedy = true, MaxNewTokens = 12, EndOfSequenceId = endOfSequence };
        options.StopSequences.Add([free[first - 1], 24 - free[first] % 24]); // begins like the tokens before the end, then differs

        Assert.Equal(free[..first], generator.Generate([2], options).ToArray());
    }

    [Fact]
    public void TextStopsAtTheTokenizersEndOfTextByDefaultAndTheOptOutWritesIt()
    {
        using var model = Gpt2Model(endOfTextLogit: 9);
        var generator = new NewLlmGenerator(model);
        const string prompt = "Human: hello Assistant:";
        var optOut = new GenerationOptions { Seed = 2, MaxNewTokens = 40, StopAtEndOfSequence = false };
        int[] tokens = generator.Generate(Gpt2.Value.EncodeToIds(prompt), optOut).ToArray();
        int end = Array.IndexOf(tokens, EndOfText);
        Assert.InRange(end, 1, 38); // the premise: some text, then <|endoftext|>, then more

        using var session = new GenerationSession(model);
        string stopped = generator.GenerateText(Gpt2.Value, prompt, new GenerationOptions { Seed = 2, MaxNewTokens = 40 }, session);
        Assert.Equal(Gpt2.Value.Decode(tokens[..end]), stopped);
        Assert.Equal(GenerationStopReason.EndOfSequence, session.StopReason);

        string through = generator.GenerateText(Gpt2.Value, prompt, optOut);
        Assert.Equal(Gpt2.Value.Decode(tokens), through);
        Assert.Contains("<|endoftext|>", through, StringComparison.Ordinal);
    }

    [Fact]
    public void AStopStringSplitAcrossTokensEndsTheTextAndIsNotEmitted()
    {
        using var model = Gpt2Model();
        var generator = new NewLlmGenerator(model);
        IReadOnlyList<int> prompt = Gpt2.Value.EncodeToIds("Human: hi Assistant:");
        var options = new GenerationOptions { Seed = 7, MaxNewTokens = 40 };
        int[] tokens = generator.Generate(prompt, options).ToArray();
        string[] pieces = tokens.Select(t => Gpt2.Value.Decode([t])).ToArray();
        string text = Gpt2.Value.Decode(tokens);

        // A stop string made of the end of one token's text and the start of the next's, found in no single token.
        string stop = Enumerable.Range(5, 30)
            .Where(i => IsPlain(pieces[i]) && IsPlain(pieces[i + 1]))
            .Select(i => pieces[i][^2..] + pieces[i + 1][..2])
            .First(s => !pieces.Any(p => p.Contains(s, StringComparison.OrdinalIgnoreCase)));
        int at = text.IndexOf(stop, StringComparison.OrdinalIgnoreCase);
        int written = Enumerable.Range(1, tokens.Length).First(n => Gpt2.Value.Decode(tokens[..n]).Contains(stop, StringComparison.OrdinalIgnoreCase));

        options.StopStrings.Add(stop.ToUpperInvariant()); // matched ignoring case
        using var session = new GenerationSession(model);
        string[] streamed = generator.StreamText(Gpt2.Value, "Human: hi Assistant:", options, session).ToArray();

        Assert.Equal(text[..at], string.Concat(streamed));
        Assert.All(streamed, piece => Assert.DoesNotContain(stop, piece, StringComparison.OrdinalIgnoreCase));
        Assert.Equal(GenerationStopReason.StopString, session.StopReason);
        Assert.Equal(prompt.Count + written, session.TokensSeen); // generation ended with the token that completed it
        Assert.Equal(text[..at], generator.GenerateText(Gpt2.Value, "Human: hi Assistant:", options));
    }

    [Fact]
    public void TextThatStartsLikeAStopStringButIsNotOneIsEmittedInFull()
    {
        using var model = Gpt2Model();
        var generator = new NewLlmGenerator(model);
        var options = new GenerationOptions { Seed = 7, MaxNewTokens = 40 };
        string text = generator.GenerateText(Gpt2.Value, "Human: hi Assistant:", options);
        string middle = text.Substring(text.Length / 2, 3);
        string[] stops = [text[^3..] + "\u2603", middle + "\u2603"]; // the text ends like the first, and has the second's start inside
        Assert.All(stops, stop => Assert.DoesNotContain(stop, text, StringComparison.OrdinalIgnoreCase));

        foreach (string stop in stops)
        {
            options.StopStrings.Add(stop);
        }

        var seen = new List<string>();
        foreach (string piece in generator.StreamText(Gpt2.Value, "Human: hi Assistant:", options))
        {
            seen.Add(piece);
        }

        Assert.Equal(text, string.Concat(seen));
        Assert.EndsWith(text[^3..], seen[^1], StringComparison.Ordinal); // the possible start was held back to the end
    }

    [Fact]
    public void StopStringsAndTheEndOfSequenceIdAreValidated()
    {
        using var model = SmallModel();
        var generator = new NewLlmGenerator(model);
        var empty = new GenerationOptions();
        empty.StopStrings.Add(string.Empty);
        Assert.Equal(
            ["GenerationOptions.StopStrings must be free of null and empty strings, but is 'a list with a null or empty string'."],
            Assert.Throws<OptionsValidationException>(() => empty.Validate()).Failures);
        Assert.Throws<OptionsValidationException>(() => generator.StreamText(Gpt2.Value, "x", empty));
        Assert.Equal(
            ["GenerationOptions.EndOfSequenceId must be null or 0 or more, but is -1."],
            Assert.Throws<OptionsValidationException>(() => new GenerationOptions { EndOfSequenceId = -1 }.Validate()).Failures);

        var text = new GenerationOptions();
        text.StopStrings.Add("Human:");
        Assert.Contains("StreamText", Assert.Throws<ArgumentException>(() => generator.Generate([1], text)).Message);
    }

    private static bool IsPlain(string piece) => piece.Length >= 2 && piece.All(c => char.IsAsciiLetterOrDigit(c) || c == ' ');
}

using NewLlm.Data;
using TorchSharp;
using static TorchSharp.torch;

namespace NewLlm.Training.Tests;

/// <summary>A trainer trains in training mode and gives the model back in its own mode; generation with the data's tokenizers ends at end of text.</summary>
public sealed class ModelModeTests
{
    private sealed class ModeDuringBatches : ITrainerCallback
    {
        public List<bool> Seen { get; } = [];

        public void OnBatchEnd(TrainerContext context, BatchResult batch) => Seen.Add(context.Model.training);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task TrainAsyncTrainsInTrainingModeAndLeavesTheModelInTheModeItFoundIt(bool startInTraining)
    {
        using var setup = new TinySetup();
        using NewLlmModel model = setup.CreateModel();
        model.train(startInTraining);
        var modes = new ModeDuringBatches();
        using var trainer = setup.CreateTrainer(model, setup.Options(epochs: 2, output: false), modes);

        await trainer.TrainAsync();

        Assert.NotEmpty(modes.Seen);
        Assert.DoesNotContain(false, modes.Seen);
        Assert.Equal(startInTraining, model.training);
    }

    [Fact]
    public void TrainLeavesAnEvaluationModeModelInEvaluationMode()
    {
        using var setup = new TinySetup();
        using NewLlmModel model = setup.CreateModel();
        model.eval();
        using var trainer = setup.CreateTrainer(model, setup.Options(epochs: 1, output: false));

        trainer.Train();

        Assert.False(model.training);
    }

    [Fact]
    public void TheReadmeSnippetStopsAtTheWordLevelEndOfSequenceWithoutBeingToldItsId()
    {
        using var setup = new TinySetup();
        WordLevelTokenizer tokenizer = setup.Tokenizer;
        using NewLlmModel model = setup.CreateModel();
        RaiseOutputBias(model, tokenizer.EosId, 1.5f);
        var generator = new NewLlmGenerator(model);
        var optOut = new GenerationOptions { Seed = 1, MaxNewTokens = 30, StopAtEndOfSequence = false };
        using var reference = new GenerationSession(model);
        reference.Feed(tokenizer.BosId);
        int[] tokens = generator.Generate(tokenizer.Encode("hello there how are you"), optOut, reference).ToArray();
        int end = Array.IndexOf(tokens, tokenizer.EosId);
        Assert.InRange(end, 1, 28); // the premise: words, then <eos>, then more

        using var session = new GenerationSession(model);
        session.Feed(tokenizer.BosId);
        string reply = generator.GenerateText(tokenizer.Tokenizer, "hello there how are you", new GenerationOptions { Seed = 1, MaxNewTokens = 30 }, session);

        Assert.Equal(tokenizer.Tokenizer.Decode(tokens[..end]), reply);
        Assert.DoesNotContain("<eos>", reply, StringComparison.Ordinal);
        Assert.Equal(GenerationStopReason.EndOfSequence, session.StopReason);
        Assert.Contains("<eos>", generator.GenerateText(tokenizer.Tokenizer, "hello there how are you", optOut), StringComparison.Ordinal);
    }

    [Fact]
    public void AWordLevelStopStringMatchesTheLowerCaseTextAndTheNextTurnIsNotWrittenTwice()
    {
        using var setup = new TinySetup();
        WordLevelTokenizer tokenizer = setup.Tokenizer;
        using NewLlmModel model = setup.CreateModel();
        var generator = new NewLlmGenerator(model);
        var free = new GenerationOptions { Seed = 4, MaxNewTokens = 30, StopAtEndOfSequence = false };
        string text = generator.GenerateText(tokenizer.Tokenizer, "hello", free);
        string word = text.Split(' ')[5];
        int at = text.IndexOf(word, StringComparison.Ordinal);

        var options = new GenerationOptions { Seed = 4, MaxNewTokens = 30, StopAtEndOfSequence = false };
        options.StopStrings.Add(char.ToUpperInvariant(word[0]) + word[1..]); // as a label is written in the data: "Human:"
        using var session = new GenerationSession(model);
        Assert.Equal(text[..at], generator.GenerateText(tokenizer.Tokenizer, "hello", options, session));
        Assert.Equal(GenerationStopReason.StopString, session.StopReason);
    }

    [Fact]
    public void ATokenizerWithNoEndOfSequenceTokenIsRefusedUnlessTheStopIsTurnedOff()
    {
        using var setup = new TinySetup();
        using NewLlmModel model = setup.CreateModel();
        var generator = new NewLlmGenerator(model);
        var noEnd = new WordLevelVocabularyTokenizer(["<pad>", "<unk>", "hello", "there"], unknownId: 1, firstWordId: 2);

        Assert.Contains("EndOfSequenceId", Assert.Throws<ArgumentException>(() => generator.StreamText(noEnd, "hello", new GenerationOptions())).Message);
        Assert.NotEmpty(generator.GenerateText(noEnd, "hello", new GenerationOptions { MaxNewTokens = 3, StopAtEndOfSequence = false }));
        _ = generator.GenerateText(noEnd, "hello", new GenerationOptions { MaxNewTokens = 3, EndOfSequenceId = 3 }); // an id given: no search
    }

    private static void RaiseOutputBias(NewLlmModel model, int id, float by)
    {
        using var noGrad = torch.no_grad();
        Tensor bias = model.named_parameters().Single(p => p.name == "token_output.bias").parameter;
        bias[id] = bias[id] + by;
    }
}

using NewLlm.Data;
using NewLlm.Training;
using TorchSharp;

namespace NewLlm.Training.Tests;

/// <summary>Tiny generated corpora and models, so every test trains in milliseconds.</summary>
internal sealed class TinySetup : IDisposable
{
    private readonly NewLlm.Tests.TempDirectory _directory;

    private static readonly string[] Words = ["hello", "there", "how", "are", "you", "fine", "thanks", "what", "is", "the", "weather", "sunny", "rain", "today", "good", "bad"];

    public TinySetup(int trainRows = 40, int validationRows = 12, int sequenceLength = 12, int seed = 7, int vocabulary = 24)
    {
        var random = new Random(seed);
        TrainTexts = Enumerable.Range(0, trainRows).Select(_ => MakeDialogue(random)).ToArray();
        ValidationTexts = Enumerable.Range(0, validationRows).Select(_ => MakeDialogue(random)).ToArray();
        Tokenizer = WordLevelTokenizer.Build(TrainTexts, vocabulary);
        var options = new TokenizedCorpusOptions { MaxSequenceLength = sequenceLength };
        Train = TokenizedCorpus.Build(TrainTexts, Tokenizer, options);
        Validation = TokenizedCorpus.Build(ValidationTexts, Tokenizer, options);
        _directory = new NewLlm.Tests.TempDirectory("newllm-training-tests");
    }

    public string[] TrainTexts { get; }

    public string[] ValidationTexts { get; }

    public WordLevelTokenizer Tokenizer { get; }

    public TokenizedCorpus Train { get; }

    public TokenizedCorpus Validation { get; }

    public string Directory => _directory.Path;

    public NewLlmOptions ModelOptions => new() { VocabSize = Tokenizer.VocabSize, EmbedDim = 8, HiddenDim = 16, ContextDim = 8, NumLayers = 1, Dropout = 0.1 };

    public NewLlmModel CreateModel(int seed = 1)
    {
        TorchBackend.EnsureLoaded();
        torch.random.manual_seed(seed);
        return new NewLlmModel(ModelOptions);
    }

    public TransformerBaselineOptions BaselineOptions => new() { VocabSize = Tokenizer.VocabSize, EmbedDim = 8, NumHeads = 2, HiddenDim = 16, NumLayers = 2, MaxSeqLength = Train.SequenceLength, Dropout = 0.1 };

    public TransformerBaselineModel CreateBaseline(int seed = 1)
    {
        TorchBackend.EnsureLoaded();
        torch.random.manual_seed(seed);
        return new TransformerBaselineModel(BaselineOptions);
    }

    /// <summary>A fresh model of either kind (<see cref="LanguageModel.NewLlmType"/> or <see cref="LanguageModel.TransformerBaselineType"/>).</summary>
    public LanguageModel Create(string modelType, int seed = 1) =>
        modelType == LanguageModel.TransformerBaselineType ? CreateBaseline(seed) : CreateModel(seed);

    public TrainerOptions Options(int epochs, bool output = true) => new()
    {
        ModelName = "tiny",
        Epochs = epochs,
        BatchSize = 8,
        LearningRate = 0.01,
        Seed = 3,
        OutputDirectory = output ? Directory : null,
    };

    /// <summary>Trains a fresh model for one epoch; returns its final checkpoint.</summary>
    public async Task<string> TrainOneEpochAsync()
    {
        using var trainer = CreateTrainer(CreateModel(), Options(1));
        await trainer.TrainAsync();
        return Path.Combine(Directory, "tiny_final.pt");
    }

    public Trainer CreateTrainer(LanguageModel model, TrainerOptions options, params ITrainerCallback[] callbacks) =>
        new(model, Train, Validation, options, Tokenizer, callbacks: callbacks);

    public void Dispose() => _directory.Dispose();

    public static Dictionary<string, float[]> Weights(LanguageModel model) =>
        model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().cpu().data<float>().ToArray());

    private static string MakeDialogue(Random random)
    {
        int n = random.Next(2, 9);
        var human = string.Join(' ', Enumerable.Range(0, n).Select(_ => Words[random.Next(Words.Length)]));
        var assistant = string.Join(' ', Enumerable.Range(0, random.Next(1, 6)).Select(_ => Words[random.Next(Words.Length)]));
        return $"Human: {human} Assistant: {assistant}";
    }
}

using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using NewLlm.Data;
using NewLlm.Tests;
using TorchSharp;

namespace NewLlm.Training.Tests;

/// <summary>
/// The curriculum runner on small files written here: levels in order, each from the previous level's best weights,
/// grown where the recipe grows the model; the vocabulary kept or rebuilt; curriculum.json, resume and refusals.
/// </summary>
public sealed class CurriculumTests
{
    [Fact]
    public async Task TheSecondLevelStartsFromTheFirstLevelsBestWeightsAndVocabularyAndARunAgainSkipsBoth()
    {
        using var temp = new TempDirectory();
        CurriculumOptions options = Options(temp, "out");
        var starts = new Dictionary<string, Dictionary<string, float[]>>();
        var logs = new ListLoggerFactory();
        CurriculumResult result = await new CurriculumRunner(Recipe(), options, logs) { Callbacks = level => [new StartingWeights(level.Name, starts)] }.RunAsync();

        Assert.Equal(CurriculumOutcome.Completed, result.Outcome); // level 1 is not cleared, and the options say Warn
        // The tiny Dolly set's words cover little of HH-RLHF: the corpus says so, comparing it with HH-RLHF's own vocabulary.
        Assert.Contains(logs.Entries, e => e.Level == LogLevel.Warning && e.Message.StartsWith("The given vocabulary leaves", StringComparison.Ordinal)
            && e.Message.Contains("a vocabulary of the same size built from these rows would leave", StringComparison.Ordinal));
        Assert.Equal(["dolly", "hh-rlhf"], result.Levels.Select(r => r.Name));
        Assert.False(result.Levels[0].Cleared);
        Assert.All(result.Levels, r => Assert.Equal(r.ValidationPerplexity < 17, r.Cleared));
        Assert.All(result.Levels, r => Assert.Equal(1, r.EpochsRun));
        CurriculumLevelResult first = result.Levels[0], second = result.Levels[1];
        Assert.Equal(Path.Combine(Path.GetFullPath(options.OutputDirectory), "01-dolly", "best_new_llm_dolly_layers1.pt"), first.BestCheckpoint);
        Assert.Equal("HH-RLHF harmless", second.Dataset); // the only subset in the folder
        Assert.True(second.UnknownWordRate > 0.01, "HH-RLHF's words outside Dolly's vocabulary are counted");

        // Level 2 started from level 1's best weights and vocabulary, and records where they came from.
        using (NewLlmModel best = (NewLlmModel)CheckpointFile.LoadModel(first.BestCheckpoint!))
        {
            ResumeTests.AssertSameWeights(TinySetup.Weights(best), Model(starts["hh-rlhf"], best.Options));
        }

        CheckpointManifest level2 = CheckpointFile.ReadManifest(second.BestCheckpoint!);
        Assert.Equal(first.BestCheckpoint, (string?)level2.TrainerOptions["from_checkpoint"]);
        Assert.Equal("checkpoint", (string?)level2.TrainerOptions["vocabulary"]);
        Assert.Equal("harmless", (string?)level2.TrainerOptions["subset"]);
        Assert.Equal(24, (int?)level2.TrainerOptions["max_seq_length"]);
        Assert.Equal(CheckpointFile.LoadTokenizer(first.BestCheckpoint!)!.Fingerprint, CheckpointFile.LoadTokenizer(second.BestCheckpoint!)!.Fingerprint);

        // The state file holds the rows; the same run again trains nothing and gives the same summary.
        JsonNode state = JsonNode.Parse(await File.ReadAllTextAsync(result.StatePath))!;
        Assert.Equal("Completed", (string?)state["outcome"]);
        Assert.Equal(2, state["levels"]!.AsArray().Count);
        starts.Clear();
        CurriculumResult again = await Runner(Recipe(), Options(temp, "out"), starts).RunAsync();
        Assert.Empty(starts);
        Assert.Equal(2, again.LevelsSkipped);
        Assert.Equal(result.Levels.Select(r => r.ValidationPerplexity), again.Levels.Select(r => r.ValidationPerplexity));
        Assert.Contains("2 hh-rlhf  HH-RLHF harmless", again.FormatTable(), StringComparison.Ordinal);

        // Another recipe or other options in that folder are refused, naming what differs.
        CurriculumOptions other = Options(temp, "out");
        other.LearningRate = 0.001;
        var refused = await Assert.ThrowsAsync<InvalidOperationException>(() => Runner(Recipe(), other, starts).RunAsync());
        Assert.Contains("options.learning_rate: 0.0008 before, 0.001 now", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ALevelThatGrowsTheModelKeepsItsFunctionAndRecordsTheGrowth()
    {
        using var temp = new TempDirectory();
        CurriculumRecipe recipe = new([Level("dolly", 1, 256), Level("hh-rlhf", 2, 512)]);
        var starts = new Dictionary<string, Dictionary<string, float[]>>();
        CurriculumResult result = await Runner(recipe, Options(temp, "out"), starts).RunAsync();

        CurriculumLevelResult second = result.Levels[1];
        Assert.Equal((2, 512), (second.Layers, second.ContextSize));
        Assert.EndsWith(Path.Combine("02-hh-rlhf", "best_new_llm_hh_rlhf_layers2_context512.pt"), second.BestCheckpoint, StringComparison.Ordinal);
        CheckpointManifest manifest = CheckpointFile.ReadManifest(second.BestCheckpoint!);
        Assert.Equal(1, (int?)manifest.TrainerOptions["grown_from_layers"]);
        Assert.Equal(256, (int?)manifest.TrainerOptions["expanded_from_context"]);
        Assert.Equal("replicate", (string?)manifest.TrainerOptions["expansion"]);

        // The deeper, wider model level 2 started with computes what level 1's best model computes.
        using NewLlmModel best = (NewLlmModel)CheckpointFile.LoadModel(result.Levels[0].BestCheckpoint!);
        NewLlmOptions grown = best.Options.Clone();
        (grown.NumLayers, grown.ContextDim) = (2, 512);
        using NewLlmModel start = Model(starts["hh-rlhf"], grown);
        best.eval();
        start.eval();
        using var tokens = torch.tensor(new long[] { 1, 5, 9, 13, 2, 7, 30, 4 }, torch.int64).reshape(1, 8);
        using var expected = best.forward(tokens);
        using var actual = start.forward(tokens);
        Assert.True(torch.allclose(expected, actual, rtol: 0, atol: 1e-5), "the grown model's logits differ from the trained model's");

        // A set the library does not know, and a context Replicate cannot reach, are refused before anything is written.
        CurriculumOptions options = Options(temp, "refused");
        var unknown = await Assert.ThrowsAsync<ArgumentException>(() => new CurriculumRunner(new([Level("dolly", 1, 256), Level("dolly-v2", 1, 256)]), options).RunAsync());
        Assert.StartsWith("Level 2 (dolly-v2): 'dolly-v2' is not a dialogue data set; expected one of ", unknown.Message, StringComparison.Ordinal);
        var uneven = await Assert.ThrowsAsync<ArgumentException>(() => new CurriculumRunner(new([Level("dolly", 1, 256), Level("hh-rlhf", 1, 384)]), options).RunAsync());
        Assert.StartsWith("Level 2 (hh-rlhf) widens the context from 256 to 384, which Replicate expansion cannot do", uneven.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(options.OutputDirectory));

        // Fewer layers or a smaller context than the previous level are refused up front.
        var shrink = Assert.Throws<ArgumentException>(() => new CurriculumRecipe([Level("dolly", 2, 256), Level("hh-rlhf", 1, 256)]));
        Assert.StartsWith("Level 2 (hh-rlhf): layers 1 is fewer than level 1's 2", shrink.Message, StringComparison.Ordinal);
        shrink = Assert.Throws<ArgumentException>(() => new CurriculumRecipe([Level("dolly", 1, 512), Level("hh-rlhf", 1, 256)]));
        Assert.StartsWith("Level 2 (hh-rlhf): context_size 256 is smaller than level 1's 512", shrink.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RebuildGivesTheNewSetItsOwnVocabularyAndReinitialisesOnlyTheVocabularyLayers()
    {
        using var temp = new TempDirectory();
        CurriculumOptions options = Options(temp, "out");
        options.Vocabulary = VocabularyPolicy.Rebuild;
        var starts = new Dictionary<string, Dictionary<string, float[]>>();
        CurriculumResult result = await Runner(Recipe(), options, starts).RunAsync();

        string firstBest = result.Levels[0].BestCheckpoint!, secondBest = result.Levels[1].BestCheckpoint!;
        Assert.NotEqual(CheckpointFile.LoadTokenizer(firstBest)!.Fingerprint, CheckpointFile.LoadTokenizer(secondBest)!.Fingerprint);
        Assert.Equal("rebuilt", (string?)CheckpointFile.ReadManifest(secondBest).TrainerOptions["vocabulary"]);
        using NewLlmModel best = (NewLlmModel)CheckpointFile.LoadModel(firstBest);
        Dictionary<string, float[]> trained = TinySetup.Weights(best), start = starts["hh-rlhf"];
        foreach ((string name, float[] values) in trained)
        {
            bool vocabularyLayer = name.StartsWith("token_embedding.", StringComparison.Ordinal) || name.StartsWith("token_output.", StringComparison.Ordinal);
            Assert.True(vocabularyLayer != values.AsSpan().SequenceEqual(start[name]), $"{name} {(vocabularyLayer ? "was not re-initialised" : "was not carried over")}");
        }
    }

    [Fact]
    [Trait("Category", "Slow")] // GPT-2's 50,257 ids make the model 20 times larger: about 50 s here
    public async Task Gpt2KeepsTheSameIdsAtEveryLevelAndHasNoUnknownWords()
    {
        using var temp = new TempDirectory();
        CurriculumOptions options = Options(temp, "out");
        (options.Tokenizer, options.MaxSamples, options.Vocabulary) = ("gpt2", 32, VocabularyPolicy.Rebuild); // rebuild changes nothing for GPT-2
        var starts = new Dictionary<string, Dictionary<string, float[]>>();
        CurriculumResult result = await Runner(Recipe(), options, starts).RunAsync();

        DialogueTokenizer first = CheckpointFile.LoadTokenizer(result.Levels[0].BestCheckpoint!)!, second = CheckpointFile.LoadTokenizer(result.Levels[1].BestCheckpoint!)!;
        Assert.Equal(("gpt2", first.Fingerprint), (second.Kind, second.Fingerprint));
        Assert.All(result.Levels, r => Assert.Null(r.UnknownWordRate));
        using NewLlmModel best = (NewLlmModel)CheckpointFile.LoadModel(result.Levels[0].BestCheckpoint!);
        Assert.Equal(Gpt2DialogueTokenizer.Create().VocabSize, best.Options.VocabSize);
        ResumeTests.AssertSameWeights(TinySetup.Weights(best), Model(starts["hh-rlhf"], best.Options)); // nothing re-initialised
    }

    [Fact]
    public async Task AnInterruptedCurriculumResumesTheLevelAtTheEpochWhereItStoppedAndEndsAsAnUninterruptedRun()
    {
        using var temp = new TempDirectory();
        CurriculumRecipe recipe = new([Level("dolly", 1, 256, epochs: 1), Level("hh-rlhf", 1, 256, epochs: 3)]);
        CurriculumResult straight = await Runner(recipe, Options(temp, "straight", epochs: null), []).RunAsync();

        using var cancel = new CancellationTokenSource();
        var interrupted = new CurriculumRunner(recipe, Options(temp, "interrupted", epochs: null))
        {
            Callbacks = level => level.Name == "hh-rlhf" ? [new CancelAt(cancel, epoch: 2, batch: 2)] : [],
        };
        CurriculumResult stopped = await interrupted.RunAsync(cancel.Token);
        Assert.Equal(CurriculumOutcome.Cancelled, stopped.Outcome);
        Assert.Single(stopped.Levels);
        string levelFolder = Path.Combine(temp.Path, "interrupted", "02-hh-rlhf");
        Assert.True(File.Exists(Path.Combine(levelFolder, "new_llm_hh_rlhf_layers1_interrupted.pt")));

        var epochsBegun = new List<int>();
        var resumed = new CurriculumRunner(recipe, Options(temp, "interrupted", epochs: null))
        {
            Callbacks = _ => [new EpochLog(epochsBegun)],
        };
        CurriculumResult result = await resumed.RunAsync();
        Assert.Equal(CurriculumOutcome.Completed, result.Outcome);
        Assert.Equal(1, result.LevelsSkipped);
        Assert.Equal([2, 3], epochsBegun); // dolly skipped; hh-rlhf goes on in its second epoch
        Assert.Equal(straight.Levels.Select(r => r.ValidationPerplexities), result.Levels.Select(r => r.ValidationPerplexities));
        using NewLlmModel expected = (NewLlmModel)CheckpointFile.LoadModel(Path.Combine(temp.Path, "straight", "02-hh-rlhf", "new_llm_hh_rlhf_layers1_final.pt"));
        using NewLlmModel actual = (NewLlmModel)CheckpointFile.LoadModel(Path.Combine(levelFolder, "new_llm_hh_rlhf_layers1_final.pt"));
        ResumeTests.AssertSameWeights(expected, actual);
    }

    [Fact]
    public void TheOriginalPlanHasFiveLevelsAndSelectKeepsItsOrder()
    {
        CurriculumRecipe original = CurriculumRecipe.Original;
        Assert.Equal(["dolly", "hh-rlhf", "ultrachat", "codealpaca", "math"], original.Levels.Select(l => l.Name));
        Assert.Equal([17d, 21, 26, 32, 42], original.Levels.Select(l => l.ClearedPerplexity));
        Assert.Equal([1, 1, 4, 8, 12], original.Levels.Select(l => l.Layers));
        Assert.Equal([256, 256, 256, 512, 1024], original.Levels.Select(l => l.ContextSize));
        Assert.Equal([128, 128, 128, 256, 256], original.Levels.Select(l => l.MaxSequenceLength));
        Assert.Equal([100, 100, 150, 200, 200], original.Levels.Select(l => l.Epochs));
        Assert.All(original.Levels, l => Assert.Equal(new TrainerOptions().EarlyStoppingPatience, l.EarlyStoppingPatience));

        Assert.Equal(["dolly", "codealpaca"], original.Select("codealpaca", "Dolly").Levels.Select(l => l.Name));
        var unknown = Assert.Throws<ArgumentException>(() => original.Select("dolly", "hhrlhf"));
        Assert.StartsWith("'hhrlhf' is not a level of the curriculum; its levels are dolly, hh-rlhf, ultrachat, codealpaca, math.", unknown.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ARecipeFileReplacesTheBuiltInOneAndItsErrorsNameTheFileTheLevelAndTheField()
    {
        using var temp = new TempDirectory();
        string path = temp.Combine("recipe.json");
        File.WriteAllText(path, """{"levels": [{"name": "dolly", "cleared_ppl": 40, "epochs": 3}, {"name": "hh-rlhf", "subset": "harmless", "layers": 2, "context_size": 512, "cleared_ppl": 50, "max_samples": 100}]}""");
        CurriculumRecipe recipe = CurriculumRecipe.Load(path);
        Assert.Equal(new CurriculumLevel { Name = "dolly", ClearedPerplexity = 40, Epochs = 3 }, recipe.Levels[0]);
        Assert.Equal(new CurriculumLevel { Name = "hh-rlhf", Subset = "harmless", Layers = 2, ContextSize = 512, ClearedPerplexity = 50, MaxSamples = 100 }, recipe.Levels[1]);
        File.WriteAllText(path, recipe.ToJson().ToJsonString());
        Assert.Equal(recipe.Levels, CurriculumRecipe.Load(path).Levels); // the schema it writes is the one it reads

        (string Json, string Error)[] bad =
        [
            ("""{"levels": [{"name": "dolly", "cleared_ppl": 17, "layers": "two"}]}""", "level 1: \"layers\" must be a whole number, not \"two\"."),
            ("""{"levels": [{"name": "dolly", "cleared_ppl": 17}, {"name": "math", "cleared_ppl": 42, "epoch": 3}]}""", "level 2: unknown field \"epoch\"; the fields are name,"),
            ("""{"levels": [{"name": "dolly"}]}""", "level 1: \"cleared_ppl\" is missing."),
            ("""{"levels": [{"name": "dolly", "cleared_ppl": 17, "layers": 0}]}""", "Level 1 (dolly): layers must be at least 1, not 0."),
            ("""{"levels": [{"name": "dolly", "cleared_ppl": 17}""", "is not valid JSON"),
            ("""[{"name": "dolly"}]""", "must hold an object with a \"levels\" array"),
            ("""{"levels": [{"name": "dolly", "cleared_ppl": 17}], "level": 2}""", ": unknown field \"level\"; a recipe holds only \"levels\"."),
            ("""{"levels": [{"name": "dolly", "cleared_ppl": 17}, {"name": "dolyy", "cleared_ppl": 17}]}""", "level 2: 'dolyy' is not a dialogue data set"),
            ("""{"levels": [{"name": "dolly", "cleared_ppl": 17, "math_levels": "1"}]}""", "level 1: math_levels and math_types filter the math level's problems; Dolly-15k has no such fields."),
            ("""{"levels": [{"name": "math", "cleared_ppl": 42, "math_types": "algebra,geometri"}]}""", "level 1: 'geometri'"),
        ];
        foreach ((string json, string error) in bad)
        {
            File.WriteAllText(path, json);
            var ex = Assert.Throws<InvalidDataException>(() => CurriculumRecipe.Load(path));
            Assert.Contains(path, ex.Message, StringComparison.Ordinal);
            Assert.Contains(error, ex.Message, StringComparison.Ordinal);
        }

        File.WriteAllBytes(path, new byte[(1 << 20) + 1]);
        Assert.Contains("a recipe is at most 1,048,576 bytes", Assert.Throws<InvalidDataException>(() => CurriculumRecipe.Load(path)).Message, StringComparison.Ordinal);
        Assert.Throws<FileNotFoundException>(() => CurriculumRecipe.Load(temp.Combine("missing.json")));
    }

    [Fact]
    public void OptionsAreValidatedNamingEveryBadOneAndATrialRunOnlyWarns()
    {
        var options = new CurriculumOptions { Tokenizer = "bpe", BatchSize = 0, Epochs = 0 };
        var ex = Assert.Throws<OptionsValidationException>(() => options.Validate());
        Assert.Equal(
            ["CurriculumOptions.Tokenizer must be 'word' or 'gpt2', but is 'bpe'.", "CurriculumOptions.BatchSize must be at least 1, but is 0.", "CurriculumOptions.Epochs must be null (the recipe's) or at least 1, but is 0."],
            ex.Failures);
        Assert.Equal(NotClearedAction.Stop, new CurriculumOptions().NotClearedAction);
        Assert.Equal(NotClearedAction.Warn, new CurriculumOptions { MaxSamples = 300 }.NotClearedAction);
        Assert.Equal(NotClearedAction.Stop, new CurriculumOptions { Epochs = 1, OnNotCleared = NotClearedAction.Stop }.NotClearedAction);
    }

    [Fact]
    public async Task ALevelThatIsNotClearedStopsTheCurriculumAndARunAgainSaysSo()
    {
        using var temp = new TempDirectory();
        CurriculumOptions options = Options(temp, "out");
        options.OnNotCleared = NotClearedAction.Stop;
        CurriculumResult result = await Runner(Recipe(), options, []).RunAsync();
        Assert.Equal(CurriculumOutcome.NotCleared, result.Outcome);
        Assert.Single(result.Levels);
        Assert.False(Directory.Exists(Path.Combine(temp.Path, "out", "02-hh-rlhf")));

        CurriculumResult again = await Runner(Recipe(), options, []).RunAsync();
        Assert.Equal((CurriculumOutcome.NotCleared, 1), (again.Outcome, again.LevelsSkipped));
    }

    [Fact]
    public async Task AStateFileThatIsNotACurriculumsIsRefusedNamingItAndLeftAsItIs()
    {
        using var temp = new TempDirectory();
        CurriculumOptions options = Options(temp, "out");
        string path = CurriculumRunner.StatePath(options.OutputDirectory);
        Directory.CreateDirectory(options.OutputDirectory);
        foreach (string text in new[] { "{\"levels\": [", "{\"format\": \"something-else\"}", "{\"format\": \"newllm.curriculum/1\", \"settings\": {}, \"levels\": [{\"level\": \"one\"}]}" })
        {
            File.WriteAllText(path, text);
            var ex = await Assert.ThrowsAsync<InvalidDataException>(() => new CurriculumRunner(Recipe(), options).RunAsync());
            Assert.StartsWith($"'{path}' cannot be read as a curriculum's state (", ex.Message, StringComparison.Ordinal);
            Assert.Equal(text, File.ReadAllText(path));
        }

        options.Overwrite = true; // starts afresh
        Assert.Equal(CurriculumOutcome.Completed, (await new CurriculumRunner(Recipe(), options).RunAsync()).Outcome);
    }

    [Fact]
    public async Task AWrongFolderForALaterLevelIsFoundBeforeTheFirstTrainsAndAMovedFolderResumes()
    {
        using var temp = new TempDirectory();
        CurriculumOptions options = Options(temp, "out");
        options.DataDirectories["hh-rlhf"] = Directory.CreateDirectory(temp.Combine("empty")).FullName;
        var starts = new Dictionary<string, Dictionary<string, float[]>>();
        var refused = await Assert.ThrowsAsync<InvalidDataException>(() => Runner(Recipe(), options, starts).RunAsync());
        Assert.StartsWith("Level 2 (hh-rlhf): ", refused.Message, StringComparison.Ordinal);
        Assert.Contains(temp.Combine("empty"), refused.Message, StringComparison.Ordinal);
        Assert.Empty(starts); // nothing trained

        // The same curriculum with its data in another folder: not another curriculum, and level 1 is not trained again.
        CurriculumResult result = await Runner(Recipe(), Options(temp, "out"), starts).RunAsync();
        Assert.Equal(CurriculumOutcome.Completed, result.Outcome);
        string moved = temp.Combine("moved");
        Directory.Move(temp.Combine("data"), moved);
        CurriculumOptions again = Options(temp, "out");
        again.DataDirectories["hh-rlhf"] = moved;
        starts.Clear();
        CurriculumResult skipped = await Runner(Recipe(), again, starts).RunAsync();
        Assert.Equal(2, skipped.LevelsSkipped);
        Assert.Empty(starts);
    }

    private sealed class ListLoggerFactory : ILoggerFactory, ILogger
    {
        public List<(LogLevel Level, string Message)> Entries { get; } = [];

        public ILogger CreateLogger(string categoryName) => this;

        public void AddProvider(ILoggerProvider provider)
        {
        }

        public void Dispose()
        {
        }

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            lock (Entries)
            {
                Entries.Add((logLevel, formatter(state, exception)));
            }
        }
    }

    [Fact]
    public async Task AMathLevelTrainsOnTheProblemsItsFilterKeepsAndRecordsTheFilter()
    {
        using var temp = new TempDirectory();
        string tree = TinyDialogueFiles.MathTree(temp.Path, perType: 20);
        string recipePath = temp.Combine("recipe.json");
        File.WriteAllText(recipePath, """{"levels": [{"name": "math", "cleared_ppl": 42, "max_seq_length": 24, "epochs": 1, "math_levels": "1,2", "math_types": "algebra"}]}""");
        CurriculumRecipe recipe = CurriculumRecipe.Load(recipePath);
        Assert.Equal(("1,2", "algebra"), (recipe.Levels[0].MathLevels, recipe.Levels[0].MathTypes));
        var options = new CurriculumOptions { OutputDirectory = temp.Combine("out"), BatchSize = 4, Seed = 3, OnNotCleared = NotClearedAction.Warn, Tokenizer = "word" };
        options.DataDirectories["math"] = tree;
        CurriculumResult result = await new CurriculumRunner(recipe, options).RunAsync();

        // Levels cycle 1 to 5 over the 20 algebra training problems: 8 are level 1 or 2, two batches of 4.
        CheckpointManifest manifest = CheckpointFile.ReadManifest(result.Levels[0].BestCheckpoint!);
        Assert.Equal("1,2", (string?)manifest.TrainerOptions["math_levels"]);
        Assert.Equal("algebra", (string?)manifest.TrainerOptions["math_types"]);
        Assert.Equal(2, manifest.State.GlobalStep);
    }

    private static CurriculumRecipe Recipe() => new([Level("dolly", 1, 256), Level("hh-rlhf", 1, 256)]);

    private static CurriculumLevel Level(string name, int layers, int context, int epochs = 1) =>
        new() { Name = name, Layers = layers, ContextSize = context, MaxSequenceLength = 24, Epochs = epochs, ClearedPerplexity = 17 };

    private static CurriculumOptions Options(TempDirectory temp, string output, int? epochs = 1)
    {
        string dolly = Directory.Exists(temp.Combine("dolly")) ? temp.Combine("dolly") : TinyDialogueFiles.Dolly(temp.Path);
        string hh = Directory.Exists(temp.Combine("data")) ? temp.Combine("data") : TinyHhRlhfFolder.Create(temp.Path);
        var options = new CurriculumOptions { OutputDirectory = temp.Combine(output), BatchSize = 16, Seed = 3, Epochs = epochs, OnNotCleared = NotClearedAction.Warn };
        options.DataDirectories["dolly"] = dolly;
        options.DataDirectories["hh-rlhf"] = hh;
        return options;
    }

    // A runner whose levels record the weights they start training with.
    private static CurriculumRunner Runner(CurriculumRecipe recipe, CurriculumOptions options, Dictionary<string, Dictionary<string, float[]>> starts) =>
        new(recipe, options) { Callbacks = level => [new StartingWeights(level.Name, starts)] };

    private static NewLlmModel Model(Dictionary<string, float[]> weights, NewLlmOptions options)
    {
        var model = new NewLlmModel(options);
        using (torch.no_grad())
        {
            foreach ((string name, torch.Tensor tensor) in model.state_dict())
            {
                tensor.copy_(torch.tensor(weights[name], tensor.shape));
            }
        }

        return model;
    }

    private sealed class StartingWeights(string level, Dictionary<string, Dictionary<string, float[]>> starts) : ITrainerCallback
    {
        public void OnTrainBegin(TrainerContext context) => starts[level] = TinySetup.Weights(context.Model);
    }

    private sealed class EpochLog(List<int> epochs) : ITrainerCallback
    {
        public void OnEpochBegin(TrainerContext context) => epochs.Add(context.State.Epoch);
    }

    private sealed class CancelAt(CancellationTokenSource source, int epoch, int batch) : ITrainerCallback
    {
        public void OnBatchEnd(TrainerContext context, BatchResult result)
        {
            if (result.Epoch == epoch && result.BatchIndex == batch)
            {
                source.Cancel();
            }
        }
    }
}

using System.Text.Json.Nodes;
using TorchSharp;

namespace NewLlm.Training.Tests;

/// <summary>One trainer for both models: the Transformer baseline trains, checkpoints, resumes and evaluates as New-LLM does.</summary>
public sealed class TransformerBaselineTrainingTests
{
    [Theory]
    [InlineData(LanguageModel.TransformerBaselineType)]
    [InlineData(LanguageModel.NewLlmType)]
    public async Task ARunKilledMidEpochAndResumedEndsBitForBitAsTheUninterruptedRunWeightsAndAdamState(string modelType)
    {
        using var setup = new TinySetup();
        LanguageModel straight = setup.Create(modelType);
        TrainerOptions straightOptions = setup.Options(3);
        straightOptions.OutputDirectory = Path.Combine(setup.Directory, "straight");
        using (var trainer = setup.CreateTrainer(straight, straightOptions))
        {
            await trainer.TrainAsync();
        }

        using var cts = new CancellationTokenSource();
        TrainerOptions interrupted = setup.Options(3);
        interrupted.OutputDirectory = Path.Combine(setup.Directory, "interrupted");
        using (var trainer = setup.CreateTrainer(setup.Create(modelType), interrupted, new CancelAt(cts, epoch: 2, batch: 2)))
        {
            Assert.Equal(TrainingOutcome.Cancelled, (await trainer.TrainAsync(cts.Token)).Outcome);
        }

        string killed = Path.Combine(interrupted.OutputDirectory, "tiny_interrupted.pt");
        Assert.Equal(3, CheckpointFile.ReadManifest(killed).State.BatchesIntoEpoch);
        LanguageModel resumed = setup.Create(modelType, seed: 99); // other initial weights: everything must come from the checkpoint
        using (var trainer = setup.CreateTrainer(resumed, interrupted))
        {
            trainer.LoadCheckpoint(killed);
            Assert.Equal(TrainingOutcome.Completed, (await trainer.TrainAsync()).Outcome);
        }

        ResumeTests.AssertSameWeights(straight, resumed);
        using PyTorchCheckpoint a = PyTorchCheckpoint.Read(Path.Combine(straightOptions.OutputDirectory, "tiny_final.pt"));
        using PyTorchCheckpoint b = PyTorchCheckpoint.Read(Path.Combine(interrupted.OutputDirectory, "tiny_final.pt"));
        Assert.Equal(a.Optimizer!.State.Keys.Order(), b.Optimizer!.State.Keys.Order());
        foreach ((int index, PyTorchAdamParameterState state) in a.Optimizer.State)
        {
            PyTorchAdamParameterState other = b.Optimizer.State[index];
            Assert.Equal(state.Step, other.Step);
            Assert.True(state.ExpAvg.data<float>().ToArray().AsSpan().SequenceEqual(other.ExpAvg.data<float>().ToArray()), $"exp_avg of parameter {index} differs");
            Assert.True(state.ExpAvgSq.data<float>().ToArray().AsSpan().SequenceEqual(other.ExpAvgSq.data<float>().ToArray()), $"exp_avg_sq of parameter {index} differs");
        }
    }

    [Fact]
    public async Task ABaselineCheckpointRecordsItsTypeAndOptionsAndRebuildsTheSameModel()
    {
        using var setup = new TinySetup();
        TransformerBaselineModel model = setup.CreateBaseline();
        using (var trainer = setup.CreateTrainer(model, setup.Options(1)))
        {
            await trainer.TrainAsync();
        }

        string path = Path.Combine(setup.Directory, "tiny_final.pt");
        CheckpointManifest manifest = CheckpointFile.ReadManifest(path);
        Assert.Equal(LanguageModel.TransformerBaselineType, manifest.ModelType);
        Assert.Null(manifest.ModelOptions);
        Assert.Equal((2, 2, setup.Train.SequenceLength), (manifest.BaselineOptions!.NumHeads, manifest.BaselineOptions.NumLayers, manifest.BaselineOptions.MaxSeqLength));

        using LanguageModel loaded = CheckpointFile.LoadModel(path);
        var baseline = Assert.IsType<TransformerBaselineModel>(loaded);
        Assert.Equal(model.Options.ToString(), baseline.Options.ToString());
        ResumeTests.AssertSameWeights(model, loaded);

        // The PyTorch part's config names the model, for a reader of the file without NewLlm.
        using PyTorchCheckpoint part = PyTorchCheckpoint.Read(path);
        Assert.Equal(LanguageModel.TransformerBaselineType, part.Config["model_type"]);
        Assert.Equal(2L, Convert.ToInt64(part.Config["num_heads"], System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public async Task ACheckpointWrittenBeforeModelTypesExistedReadsAsNewLlm()
    {
        using var setup = new TinySetup();
        string good = await setup.TrainOneEpochAsync();
        string old = Path.Combine(setup.Directory, "old.pt");
        HostileCheckpointTests.Rewrite(good, old, change: (TrainingCheckpoint.ManifestZipName, bytes =>
        {
            JsonObject manifest = JsonNode.Parse(bytes)!.AsObject();
            Assert.True(manifest.Remove("model_type"));
            Assert.True(manifest.Remove("baseline_options"));
            return System.Text.Encoding.UTF8.GetBytes(manifest.ToJsonString());
        }));

        Assert.Equal(LanguageModel.NewLlmType, CheckpointFile.ReadManifest(old).ModelType);
        using LanguageModel model = CheckpointFile.LoadModel(old);
        Assert.IsType<NewLlmModel>(model);
        using var trainer = setup.CreateTrainer(setup.CreateModel(seed: 4), setup.Options(2));
        trainer.LoadCheckpoint(old);
        ResumeTests.AssertSameWeights(model, trainer.Model);
    }

    [Fact]
    public async Task ACheckpointOfOneModelIsRefusedByATrainerOfTheOtherNamingBoth()
    {
        using var setup = new TinySetup();
        string newLlm = await setup.TrainOneEpochAsync();
        using var trainer = setup.CreateTrainer(setup.CreateBaseline(), setup.Options(2, output: false));
        Dictionary<string, float[]> before = TinySetup.Weights(trainer.Model);
        var error = Assert.Throws<InvalidDataException>(() => trainer.LoadCheckpoint(newLlm));
        Assert.Contains("new_llm", error.Message, StringComparison.Ordinal);
        Assert.Contains("transformer_baseline", error.Message, StringComparison.Ordinal);
        ResumeTests.AssertSameWeights(before, trainer.Model);
    }

    [Fact]
    public void ATrainerRefusesSequencesLongerThanTheBaselinesPositions()
    {
        using var setup = new TinySetup();
        TransformerBaselineOptions options = setup.BaselineOptions;
        options.MaxSeqLength = setup.Train.SequenceLength - 2;
        using var model = new TransformerBaselineModel(options);
        var error = Assert.Throws<ArgumentException>(() => setup.CreateTrainer(model, setup.Options(1, output: false)));
        Assert.Contains("TransformerBaselineOptions.MaxSeqLength", error.Message, StringComparison.Ordinal);
        Assert.Contains("TokenizedCorpusOptions.MaxSequenceLength", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheBaselinesTrainingLowersItsValidationLossAndReportsItsSizes()
    {
        using var setup = new TinySetup();
        using TransformerBaselineModel model = setup.CreateBaseline();
        double before = Evaluator.Evaluate(model, setup.Validation, 8).Loss;
        var output = new StringWriter();
        TrainerOptions options = setup.Options(4);
        options.LearningRate = 0.02;
        using (var trainer = setup.CreateTrainer(model, options, new ConsoleReporter(output)))
        {
            await trainer.TrainAsync();
        }

        Assert.True(Evaluator.Evaluate(model, setup.Validation, 8).Loss < before - 0.3, "the validation loss did not fall");
        Assert.Contains("Model: Transformer baseline, 2 layer(s), 2 heads", output.ToString(), StringComparison.Ordinal);
        JsonNode progress = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(setup.Directory, "tiny_progress.json")))!;
        Assert.Equal("transformer_baseline", progress["config"]!["model_type"]!.GetValue<string>());
        Assert.Equal(model.ParameterCount, progress["config"]!["parameters"]!.GetValue<long>());
    }

    [Fact]
    public void FreezingContextDimensionsOfABaselineIsRefusedNamingTheCallback()
    {
        using var setup = new TinySetup();
        using TransformerBaselineModel model = setup.CreateBaseline();
        var harness = new CallbackHarness([new FreezeBaseContextDimensions(4)], model: model);
        var error = Assert.Throws<InvalidOperationException>(() => harness.Begin());
        Assert.Contains(nameof(FreezeBaseContextDimensions), error.Message, StringComparison.Ordinal);
        Assert.Contains("transformer_baseline", error.Message, StringComparison.Ordinal);
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

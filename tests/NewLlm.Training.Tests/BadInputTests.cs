using System.Security.Cryptography;
using Microsoft.Extensions.Options;
using NewLlm.Data;
using TorchSharp;

namespace NewLlm.Training.Tests;

public sealed class BadInputTests
{
    [Fact]
    public async Task CheckpointOfAnotherModelShapeIsRejectedAndTheModelIsUntouched()
    {
        using var setup = new TinySetup();
        using (var trainer = setup.CreateTrainer(setup.CreateModel(), setup.Options(1)))
        {
            await trainer.TrainAsync();
        }

        NewLlmOptions other = setup.ModelOptions;
        other.HiddenDim = 24;
        var model = new NewLlmModel(other);
        var before = TinySetup.Weights(model);
        using var resumed = new Trainer(model, setup.Train, setup.Validation, setup.Options(2), setup.Tokenizer);
        var error = Assert.Throws<InvalidDataException>(() => resumed.LoadCheckpoint(Path.Combine(setup.Directory, "tiny_final.pt")));
        Assert.Contains("another shape", error.Message, StringComparison.Ordinal);
        Assert.Contains("hidden 16", error.Message, StringComparison.Ordinal);
        Assert.Equal(before.Values.SelectMany(v => v), TinySetup.Weights(model).Values.SelectMany(v => v));
    }

    [Fact]
    public async Task TruncatedOrCorruptedCheckpointsAreRejected()
    {
        using var setup = new TinySetup();
        using (var trainer = setup.CreateTrainer(setup.CreateModel(), setup.Options(1)))
        {
            await trainer.TrainAsync();
        }

        string good = Path.Combine(setup.Directory, "tiny_final.pt");
        byte[] bytes = await File.ReadAllBytesAsync(good);

        string truncated = Path.Combine(setup.Directory, "truncated.pt");
        await File.WriteAllBytesAsync(truncated, bytes[..(bytes.Length / 2)]);
        var e1 = Assert.Throws<InvalidDataException>(() => CheckpointFile.ReadManifest(truncated));
        Assert.Contains("truncated.pt", e1.Message, StringComparison.Ordinal);

        string corrupted = Path.Combine(setup.Directory, "corrupted.pt");
        byte[] flipped = (byte[])bytes.Clone();
        flipped[bytes.Length / 2] ^= 0xFF; // inside model.bin or optimizer.bin
        await File.WriteAllBytesAsync(corrupted, flipped);
        var e2 = Assert.Throws<InvalidDataException>(() => CheckpointFile.ReadManifest(corrupted));
        Assert.Contains("corrupted", e2.Message, StringComparison.Ordinal);

        string notACheckpoint = Path.Combine(setup.Directory, "text.pt");
        await File.WriteAllTextAsync(notACheckpoint, "hello");
        Assert.Throws<InvalidDataException>(() => CheckpointFile.ReadManifest(notACheckpoint));
        Assert.Throws<FileNotFoundException>(() => CheckpointFile.ReadManifest(Path.Combine(setup.Directory, "missing.pt")));

        using var trainer2 = setup.CreateTrainer(setup.CreateModel(), setup.Options(2));
        Assert.Throws<InvalidDataException>(() => trainer2.LoadCheckpoint(corrupted));
    }

    [Fact]
    public async Task ResumingWithAnotherTokenizerIsRejected()
    {
        using var setup = new TinySetup();
        using (var trainer = setup.CreateTrainer(setup.CreateModel(), setup.Options(1)))
        {
            await trainer.TrainAsync();
        }

        // Same vocabulary size, different words: a different tokenizer.
        var otherTokenizer = WordLevelTokenizer.Build(setup.ValidationTexts.Select(t => t.Replace("hello", "howdy", StringComparison.Ordinal)), setup.Tokenizer.VocabSize);
        var options = new TokenizedCorpusOptions { MaxSequenceLength = 12 };
        var train = TokenizedCorpus.Build(setup.TrainTexts, otherTokenizer, options);
        using var resumed = new Trainer(setup.CreateModel(), train, null, setup.Options(2), otherTokenizer);
        var error = Assert.Throws<InvalidDataException>(() => resumed.LoadCheckpoint(Path.Combine(setup.Directory, "tiny_final.pt")));
        Assert.Contains("another tokenizer", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UnwritableOutputDirectoryFailsBeforeTraining()
    {
        using var setup = new TinySetup();
        string file = Path.Combine(setup.Directory, "a-file");
        await File.WriteAllTextAsync(file, "x");
        TrainerOptions options = setup.Options(1);
        options.OutputDirectory = Path.Combine(file, "out");
        var recorder = new RecordingCallback();
        using var trainer = setup.CreateTrainer(setup.CreateModel(), options, recorder);
        var error = await Assert.ThrowsAsync<IOException>(() => trainer.TrainAsync());
        Assert.Contains("cannot be written", error.Message, StringComparison.Ordinal);
        Assert.Empty(recorder.Batches);
    }

    [Fact]
    public async Task NaNLossStopsWithEpochAndStepAndLeavesCheckpointsIntact()
    {
        using var setup = new TinySetup();
        NewLlmModel model = setup.CreateModel();
        using (var trainer = setup.CreateTrainer(model, setup.Options(1)))
        {
            await trainer.TrainAsync();
        }

        string best = Path.Combine(setup.Directory, "best_tiny.pt");
        string final = Path.Combine(setup.Directory, "tiny_final.pt");
        byte[] bestHash = SHA256.HashData(await File.ReadAllBytesAsync(best));
        byte[] finalHash = SHA256.HashData(await File.ReadAllBytesAsync(final));

        var recorder = new RecordingCallback();
        using var resumed = setup.CreateTrainer(model, setup.Options(3), recorder);
        resumed.LoadCheckpoint(final);
        using (torch.no_grad())
        {
            model.state_dict()["token_output.bias"].fill_(float.NaN);
        }

        var error = await Assert.ThrowsAsync<TrainingDivergedException>(() => resumed.TrainAsync());
        Assert.Equal(2, error.Epoch);
        Assert.Equal(6, error.Step);
        Assert.Contains("epoch 2, step 6", error.Message, StringComparison.Ordinal);
        Assert.Contains("NaN", error.Message, StringComparison.Ordinal);
        Assert.Equal("exception TrainingDivergedException", recorder.Events[^1]);
        Assert.Equal(bestHash, SHA256.HashData(await File.ReadAllBytesAsync(best)));
        Assert.Equal(finalHash, SHA256.HashData(await File.ReadAllBytesAsync(final)));
        Assert.Empty(Directory.GetFiles(setup.Directory, "*.tmp"));
    }

    [Theory]
    [InlineData(nameof(TrainerOptions.Epochs))]
    [InlineData(nameof(TrainerOptions.BatchSize))]
    [InlineData(nameof(TrainerOptions.LearningRate))]
    [InlineData(nameof(TrainerOptions.Device))]
    [InlineData(nameof(TrainerOptions.GradientAccumulationSteps))]
    [InlineData(nameof(TrainerOptions.EarlyStoppingMinDelta))]
    public void OptionsOutOfRangeNameTheOption(string option)
    {
        var options = new TrainerOptions();
        switch (option)
        {
            case nameof(TrainerOptions.Epochs): options.Epochs = 0; break;
            case nameof(TrainerOptions.BatchSize): options.BatchSize = -1; break;
            case nameof(TrainerOptions.LearningRate): options.LearningRate = double.NaN; break;
            case nameof(TrainerOptions.Device): options.Device = "gpu"; break;
            case nameof(TrainerOptions.GradientAccumulationSteps): options.GradientAccumulationSteps = 0; break;
            case nameof(TrainerOptions.EarlyStoppingMinDelta): options.EarlyStoppingMinDelta = -1; break;
        }

        var error = Assert.Throws<OptionsValidationException>(() => options.Validate());
        Assert.Contains($"TrainerOptions.{option}", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void EveryOptionsTypeReportsEveryFailureInOneMessageStyle()
    {
        var trainer = Assert.Throws<OptionsValidationException>(() => new TrainerOptions { Epochs = 0, Device = "gpu" }.Validate());
        Assert.Equal(["TrainerOptions.Epochs must be at least 1, but is 0.", "TrainerOptions.Device must be 'cpu', 'cuda' or 'cuda:N', but is 'gpu'."], trainer.Failures);
        var model = Assert.Throws<OptionsValidationException>(() => new NewLlmOptions { EmbedDim = 0, Dropout = 1.5 }.Validate());
        Assert.Equal(["NewLlmOptions.EmbedDim must be positive, but is 0.", "NewLlmOptions.Dropout must be in [0, 1), but is 1.5."], model.Failures);
        var generation = Assert.Throws<OptionsValidationException>(() => new GenerationOptions { TopP = 0 }.Validate());
        Assert.Equal(["GenerationOptions.TopP must be in (0, 1], but is 0."], generation.Failures);
        using var setup = new TinySetup();
        var corpus = Assert.Throws<OptionsValidationException>(() => TokenizedCorpus.Build(setup.TrainTexts, setup.Tokenizer, new TokenizedCorpusOptions { MaxSequenceLength = 1 }));
        Assert.Equal(["TokenizedCorpusOptions.MaxSequenceLength must be between 2 and 1048576, but is 1."], corpus.Failures);
    }

    [Fact]
    public void DefaultsAreTheOriginals()
    {
        var o = new TrainerOptions().Validate();
        Assert.Equal(OptimizerKind.Adam, o.Optimizer);
        Assert.Equal(0.0008, o.LearningRate);
        Assert.Equal(2048, o.BatchSize);
        Assert.Equal(100, o.Epochs);
        Assert.Equal(0, o.WeightDecay);
        Assert.Equal(20, o.EarlyStoppingPatience);
        Assert.Equal(0.001, o.EarlyStoppingMinDelta);
        Assert.Equal(1, o.ValidateEveryEpochs);
        Assert.Equal(5, o.CheckpointEveryEpochs);
        Assert.Equal(0.5, o.GradientClipSchedule.GetMaxNorm(1));
    }

    [SkippableFact]
    public void CudaWithoutCudaIsAClearError()
    {
        TorchBackend.EnsureLoaded();
        Skip.If(torch.cuda.is_available(), "CUDA is available here.");
        using var setup = new TinySetup();
        TrainerOptions options = setup.Options(1);
        options.Device = "cuda:0";
        var error = Assert.Throws<InvalidOperationException>(() => setup.CreateTrainer(setup.CreateModel(), options));
        Assert.Contains("CUDA is not available", error.Message, StringComparison.Ordinal);
    }
}

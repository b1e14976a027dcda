namespace NewLlm.Training.Tests;

/// <summary>A training step that cannot fit is refused before training, in one line naming the options and the batch size that fits.</summary>
public sealed class MemoryEstimateTests
{
    private const long Gigabyte = 1L << 30;

    [Fact]
    public void TheMainJobsConfigurationFits()
    {
        TrainingMemoryEstimate estimate = TrainingMemoryEstimate.ForStep(new NewLlmOptions { VocabSize = 1000, NumLayers = 1 }, batchSize: 64, sequenceLength: 128);

        Assert.Null(estimate.CheckFits("cpu"));
        Assert.Null(estimate.CheckFits("cpu", availableBytes: Gigabyte));
        Assert.InRange(estimate.TotalBytes, 100L << 20, 1L << 30);
        Assert.Equal(4L * 64 * 127 * 1000 * 4, estimate.LogitsBytes); // logits, log-softmax and both gradients, float32
        Assert.Equal(4L * 1_426_152 * 4, estimate.ParameterBytes); // parameters, gradients and Adam's two moments
    }

    [Fact]
    public void ABatchTooLargeForTheMemoryIsRefusedWithTheLargestBatchSizeThatFits()
    {
        // The GPT-2 vocabulary at the default batch size 2048: the logits alone are 52 GB.
        TrainingMemoryEstimate estimate = TrainingMemoryEstimate.ForStep(new NewLlmOptions { VocabSize = 50257 }, batchSize: 2048, sequenceLength: 128);
        Assert.InRange(estimate.LogitsBytes, 4 * 52L * 1_000_000_000, 4 * 53L * 1_000_000_000);

        string? message = estimate.CheckFits("cpu", availableBytes: 16 * Gigabyte);

        Assert.NotNull(message);
        Assert.DoesNotContain('\n', message);
        Assert.Contains("TrainerOptions.BatchSize", message, StringComparison.Ordinal);
        Assert.Contains("2048", message, StringComparison.Ordinal);
        Assert.Contains("128 tokens", message, StringComparison.Ordinal);
        int fits = estimate.LargestBatchSize(16 * Gigabyte);
        Assert.Contains($"the largest batch size that fits is {fits}", message, StringComparison.Ordinal);
        Assert.InRange(fits, 1, 2047);
        Assert.True(TrainingMemoryEstimate.ForStep(new NewLlmOptions { VocabSize = 50257 }, fits, 128).TotalBytes <= 16 * Gigabyte);
        Assert.True(TrainingMemoryEstimate.ForStep(new NewLlmOptions { VocabSize = 50257 }, fits + 1, 128).TotalBytes > 16 * Gigabyte);
    }

    [Fact]
    public void BuffersBeyondWhatTheCpuKernelsCanAddressAreRefusedWhateverTheMemory()
    {
        // --max_seq_length 100000 at batch 2048: the gates [B, T, 3C] are a float buffer of 586 GB, past the 2 GB (int.MaxValue bytes) of one span.
        TrainingMemoryEstimate estimate = TrainingMemoryEstimate.ForStep(new NewLlmOptions(), batchSize: 2048, sequenceLength: 100_000);

        string? message = estimate.CheckFits("cpu", availableBytes: long.MaxValue);

        Assert.NotNull(message);
        Assert.Contains("int.MaxValue", message, StringComparison.Ordinal);
        Assert.Contains("TrainerOptions.BatchSize", message, StringComparison.Ordinal);
        Assert.True(message.Contains("the largest batch size that fits is 6", StringComparison.Ordinal), message); // 6 * 99999 * 768 * 4 < 2^31 < 7 * ...
    }

    [Fact]
    public void TheTrainerRefusesATooLargeStepBeforeTraining()
    {
        using var setup = new TinySetup(sequenceLength: 20_000);
        NewLlmModel model = new(new NewLlmOptions { VocabSize = 50257, EmbedDim = 8, HiddenDim = 16, ContextDim = 8 });
        TrainerOptions options = setup.Options(1);
        options.BatchSize = 40;

        var error = Assert.Throws<InvalidOperationException>(() => new Trainer(model, setup.Train, setup.Validation, options, setup.Tokenizer));

        Assert.Contains("TrainerOptions.BatchSize", error.Message, StringComparison.Ordinal);
        Assert.Contains("batch size 40", error.Message, StringComparison.Ordinal);
        Assert.Contains("20000 tokens", error.Message, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(setup.Directory));
    }
}

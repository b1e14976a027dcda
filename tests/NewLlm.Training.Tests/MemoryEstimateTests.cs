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
        Assert.Equal((4194L * 1000 * 4) + (2L * 1000 * 513 * 4), estimate.LogitsBytes); // one chunk of 16 MB / 4000 B positions, the output layer's gradient and its scaled copy
        Assert.Equal(4L * 1_426_152 * 4, estimate.ParameterBytes); // parameters, gradients and Adam's two moments
    }

    [Fact]
    public void TheOriginalsBatchWithTheGpt2VocabularyNoLongerNeedsTheLogitsOfAllPositions()
    {
        // Batch 2048 x 127 positions x 50,257: the whole logits would be 52 GB; the chunked loss holds one chunk of 256 positions.
        TrainingMemoryEstimate estimate = TrainingMemoryEstimate.ForStep(new NewLlmOptions { VocabSize = 50257 }, batchSize: 2048, sequenceLength: 128);

        Assert.Equal((256L * 50257 * 4) + (2L * 50257 * 513 * 4), estimate.LogitsBytes);
        Assert.InRange(estimate.TotalBytes, 2 * Gigabyte, 8 * Gigabyte);
        Assert.Null(estimate.CheckFits("cpu", availableBytes: 8 * Gigabyte));
    }

    [Fact]
    public void ABatchTooLargeForTheMemoryIsRefusedWithTheLargestBatchSizeThatFits()
    {
        TrainingMemoryEstimate estimate = TrainingMemoryEstimate.ForStep(new NewLlmOptions { VocabSize = 50257 }, batchSize: 2048, sequenceLength: 128);

        string? message = estimate.CheckFits("cpu", availableBytes: 2 * Gigabyte);

        Assert.NotNull(message);
        Assert.DoesNotContain('\n', message);
        Assert.Contains("TrainerOptions.BatchSize", message, StringComparison.Ordinal);
        Assert.Contains("2048", message, StringComparison.Ordinal);
        Assert.Contains("128 tokens", message, StringComparison.Ordinal);
        int fits = estimate.LargestBatchSize(2 * Gigabyte);
        Assert.Contains($"the largest batch size that fits is {fits}", message, StringComparison.Ordinal);
        Assert.InRange(fits, 1, 2047);
        Assert.True(TrainingMemoryEstimate.ForStep(new NewLlmOptions { VocabSize = 50257 }, fits, 128).TotalBytes <= 2 * Gigabyte);
        Assert.True(TrainingMemoryEstimate.ForStep(new NewLlmOptions { VocabSize = 50257 }, fits + 1, 128).TotalBytes > 2 * Gigabyte);
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
        NewLlmModel model = new(new NewLlmOptions { VocabSize = 1000, EmbedDim = 8, HiddenDim = 4096, ContextDim = 8 });   // hidden states of 40 x 19,999 x 4096 floats: 13 GB
        TrainerOptions options = setup.Options(1);
        options.BatchSize = 40;

        var error = Assert.Throws<InvalidOperationException>(() => new Trainer(model, setup.Train, setup.Validation, options, setup.Tokenizer));

        Assert.Contains("TrainerOptions.BatchSize", error.Message, StringComparison.Ordinal);
        Assert.Contains("batch size 40", error.Message, StringComparison.Ordinal);
        Assert.Contains("20000 tokens", error.Message, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(setup.Directory));
    }
}

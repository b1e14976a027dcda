using Microsoft.Extensions.Options;
using TorchSharp;

namespace NewLlm.Training.Tests;

/// <summary><see cref="TrainerOptions.Precision"/>: what it sets on the model, what checkpoints record, and that a bf16 run resumes exactly.</summary>
public sealed class PrecisionTests
{
    [SkippableFact]
    public async Task ABFloat16MixedRunTrainsInMixedPrecisionRecordsItAndResumesBitForBit()
    {
        Skip.IfNot(TorchBackend.HasFastBFloat16(torch.CPU), "This CPU has no native bfloat16 (avx512_bf16 or amx_bf16): the trainer refuses BFloat16Mixed here.");

        using var setup = new TinySetup();
        TrainerOptions straightOptions = setup.Options(3);
        straightOptions.Precision = TrainingPrecision.BFloat16Mixed;
        straightOptions.OutputDirectory = Path.Combine(setup.Directory, "straight");
        NewLlmModel straight = setup.CreateModel();
        NewLlmModel fp32 = setup.CreateModel();
        TrainingResult mixedRun, fp32Run;
        using (var trainer = setup.CreateTrainer(straight, straightOptions))
        {
            Assert.Equal(torch.ScalarType.BFloat16, straight.ComputeDType);
            mixedRun = await trainer.TrainAsync();
        }

        Assert.Null(straight.ComputeDType);   // the trainer gives the model its own back

        using (var trainer = setup.CreateTrainer(fp32, setup.Options(3, output: false)))
        {
            Assert.Null(fp32.ComputeDType);
            fp32Run = await trainer.TrainAsync();
        }

        // Same start, other arithmetic: close validation losses, not equal ones. (Weights are no measure: Adam turns
        // the rounding of a near-zero gradient into a full step either way.)
        double mixedLoss = mixedRun.History[^1].Validation!.Loss, fp32Loss = fp32Run.History[^1].Validation!.Loss;
        Assert.NotEqual(fp32Loss, mixedLoss);
        Assert.True(Math.Abs(mixedLoss - fp32Loss) <= 0.02 * fp32Loss, $"validation loss {mixedLoss} in bf16 mixed, {fp32Loss} in float32");
        Dictionary<string, float[]> mixedWeights = TinySetup.Weights(straight);

        string final = Path.Combine(straightOptions.OutputDirectory, "tiny_final.pt");
        Assert.Equal("BFloat16Mixed", CheckpointFile.ReadManifest(final).TrainerOptions["precision"]!.GetValue<string>());

        TrainerOptions firstHalf = setup.Options(2);
        firstHalf.Precision = TrainingPrecision.BFloat16Mixed;
        firstHalf.OutputDirectory = Path.Combine(setup.Directory, "split");
        using (var trainer = setup.CreateTrainer(setup.CreateModel(), firstHalf))
        {
            await trainer.TrainAsync();
        }

        NewLlmModel resumed = setup.CreateModel(seed: 99);
        TrainerOptions secondHalf = firstHalf.Clone();
        secondHalf.Epochs = 3;
        using (var trainer = setup.CreateTrainer(resumed, secondHalf))
        {
            trainer.LoadCheckpoint(Path.Combine(firstHalf.OutputDirectory, "tiny_final.pt"));
            await trainer.TrainAsync();
        }

        Dictionary<string, float[]> resumedWeights = TinySetup.Weights(resumed);
        Assert.All(mixedWeights, kv => Assert.Equal(kv.Value, resumedWeights[kv.Key]));
    }

    [Fact]
    public void AFloat32TrainerClearsAComputeDTypeSetOnTheModelAndGivesItBackWhenDisposed()
    {
        using var setup = new TinySetup();
        NewLlmModel model = setup.CreateModel();
        model.ComputeDType = torch.ScalarType.BFloat16;
        using (var trainer = setup.CreateTrainer(model, setup.Options(1, output: false)))
        {
            Assert.Null(model.ComputeDType);
        }

        Assert.Equal(torch.ScalarType.BFloat16, model.ComputeDType);
    }

    [Fact]
    public void AnUndefinedPrecisionIsNamed()
    {
        var options = new TrainerOptions { Precision = (TrainingPrecision)7 };
        var error = Assert.Throws<OptionsValidationException>(() => options.Validate());
        Assert.Contains("Precision", error.Message);
        Assert.Contains("BFloat16Mixed", error.Message);
    }
}

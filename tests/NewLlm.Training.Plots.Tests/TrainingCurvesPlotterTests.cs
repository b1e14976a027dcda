using System.Buffers.Binary;
using NewLlm.Training.Tests;

namespace NewLlm.Training.Plots.Tests;

public class TrainingCurvesPlotterTests
{
    private static readonly byte[] PngSignature = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];

    [Fact]
    public async Task ThePlotterRedrawsTheCurvesAtTheEndOfEveryEpoch()
    {
        using var setup = new TinySetup();
        string curves = Path.Combine(setup.Directory, "tiny_curves.png");
        var drawn = new List<byte[]>();
        var afterPlotter = new AfterEpoch(() => drawn.Add(File.ReadAllBytes(curves)));
        using var trainer = setup.CreateTrainer(setup.CreateModel(), setup.Options(3), new TrainingCurvesPlotter { Width = 640, Height = 320 }, afterPlotter);
        await trainer.TrainAsync();

        Assert.Equal(3, drawn.Count); // there at every epoch's end, for the callbacks after it
        Assert.Equal(3, drawn.Select(Convert.ToBase64String).Distinct().Count()); // one more point each time
        Assert.Equal(drawn[^1], await File.ReadAllBytesAsync(curves));
        Assert.All(drawn, png => Assert.Equal((640, 320), PngSize(png)));
        Assert.Empty(Directory.GetFiles(setup.Directory, "*.tmp"));
    }

    [Fact]
    public void RenderDrawsAPngOfTheGivenSizeAlsoWhenSomeEpochsWereNotValidated()
    {
        var validation = new EvaluationMetrics(Loss: 4.8, Accuracy: 0.2, BitsPerByte: 1.3, TokenCount: 100, ByteCount: 400);
        EpochRecord[] history =
        [
            new(1, 10, 0.001, 5.2, validation, IsBest: true, 1, 1),
            new(2, 20, 0.001, 4.9, null, IsBest: false, 1, 1),
            new(3, 30, 0.001, 4.7, validation with { Loss = 4.6 }, IsBest: true, 1, 1),
        ];

        byte[] png = TrainingCurvesPlotter.Render(history, "run", width: 800, height: 300);

        Assert.Equal((800, 300), PngSize(png));
        Assert.Equal((1200, 500), PngSize(TrainingCurvesPlotter.Render(history[..1], "run")));
        Assert.Equal((1200, 500), PngSize(TrainingCurvesPlotter.Render([], "empty"))); // a run that has no epoch yet: empty axes
    }

    [Fact]
    public async Task WithoutAnOutputDirectoryThePlotterWritesNothingAndTrainingCompletes()
    {
        using var setup = new TinySetup();
        using var trainer = setup.CreateTrainer(setup.CreateModel(), setup.Options(1, output: false), new TrainingCurvesPlotter());
        TrainingResult result = await trainer.TrainAsync();

        Assert.Equal(TrainingOutcome.Completed, result.Outcome);
        Assert.Empty(Directory.GetFiles(setup.Directory));
    }

    /// <summary>The width and height of a PNG, from its IHDR chunk (after the 8-byte signature, length and type).</summary>
    private static (int Width, int Height) PngSize(byte[] png)
    {
        Assert.Equal(PngSignature, png[..8]);
        Assert.Equal("IHDR"u8.ToArray(), png[12..16]);
        return (BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(16)), BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(20)));
    }

    private sealed class AfterEpoch(Action action) : ITrainerCallback
    {
        public void OnEpochEnd(TrainerContext context, EpochRecord record) => action();
    }
}

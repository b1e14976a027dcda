using System.Diagnostics;
using System.Globalization;

namespace NewLlm.Training.Tests;

/// <summary>The output directory belongs to one run: locked while it trains, never silently replaced, cleaned of a killed run's temporaries.</summary>
public sealed class OutputDirectoryTests
{
    [Fact]
    public async Task AFreshRunOverAnEarlierRunsResultsIsRefusedAndOverwriteReplacesThem()
    {
        using var setup = new TinySetup();
        using (var first = setup.CreateTrainer(setup.CreateModel(), setup.Options(2)))
        {
            await first.TrainAsync();
        }

        string best = Path.Combine(setup.Directory, "best_tiny.pt");
        byte[] bestBefore = await File.ReadAllBytesAsync(best);
        Assert.Contains(best, RunDirectory.FindEarlierResults(setup.Options(2)));

        using (var second = setup.CreateTrainer(setup.CreateModel(seed: 2), setup.Options(1)))
        {
            var error = await Assert.ThrowsAsync<IOException>(() => second.TrainAsync());
            Assert.Contains("already holds results of a run named 'tiny'", error.Message, StringComparison.Ordinal);
            Assert.Contains("best_tiny.pt", error.Message, StringComparison.Ordinal);
            Assert.Contains("LoadCheckpoint(", error.Message, StringComparison.Ordinal);
            Assert.Contains("TrainerOptions.OverwriteOutput", error.Message, StringComparison.Ordinal);
        }

        Assert.Equal(bestBefore, await File.ReadAllBytesAsync(best)); // nothing was touched
        Assert.False(File.Exists(Path.Combine(setup.Directory, RunDirectory.LockFileName)));

        // A stale periodic checkpoint of the earlier run must not survive beside the new run's files.
        string stalePeriodic = Path.Combine(setup.Directory, "tiny_epoch_5.pt");
        File.Copy(best, stalePeriodic);
        TrainerOptions overwrite = setup.Options(1);
        overwrite.OverwriteOutput = true;
        using (var third = setup.CreateTrainer(setup.CreateModel(seed: 2), overwrite))
        {
            TrainingResult result = await third.TrainAsync();
            Assert.Equal(TrainingOutcome.Completed, result.Outcome);
        }

        Assert.False(File.Exists(stalePeriodic));
        Assert.Single(CheckpointFile.ReadManifest(Path.Combine(setup.Directory, "tiny_final.pt")).State.History);
    }

    [Fact]
    public async Task ResumingInTheSameDirectoryAndTrainingTheSameTrainerAgainAreNotFreshRuns()
    {
        using var setup = new TinySetup();
        using (var trainer = setup.CreateTrainer(setup.CreateModel(), setup.Options(1)))
        {
            await trainer.TrainAsync();
            trainer.Options.Epochs = 2; // the options are the trainer's copy: the same run continues
            Assert.Equal(2, (await trainer.TrainAsync()).EpochsCompleted);
        }

        using var resumed = setup.CreateTrainer(setup.CreateModel(), setup.Options(3));
        resumed.LoadCheckpoint(Path.Combine(setup.Directory, "tiny_final.pt"));
        Assert.Equal(3, (await resumed.TrainAsync()).EpochsCompleted);
    }

    [Fact]
    public async Task ASecondRunIntoADirectoryInUseIsRefusedNamingTheHolderAndTheLockIsReleasedAfterwards()
    {
        using var setup = new TinySetup();
        string lockPath = Path.Combine(setup.Directory, RunDirectory.LockFileName);
        using (RunDirectory held = RunDirectory.Claim(setup.Directory, "another run"))
        {
            Assert.Equal(lockPath, held.LockFile);
            Assert.Contains($"process {Environment.ProcessId}", RunDirectory.FindHolder(setup.Directory), StringComparison.Ordinal);
            using var trainer = setup.CreateTrainer(setup.CreateModel(), setup.Options(1));
            var error = await Assert.ThrowsAsync<IOException>(() => trainer.TrainAsync());
            Assert.Contains("is in use by process " + Environment.ProcessId.ToString(CultureInfo.InvariantCulture), error.Message, StringComparison.Ordinal);
            Assert.Contains("(another run)", error.Message, StringComparison.Ordinal);
            Assert.Empty(Directory.GetFiles(setup.Directory, "*.pt"));
        }

        Assert.False(File.Exists(lockPath));
        Assert.Null(RunDirectory.FindHolder(setup.Directory));

        // The trainer holds the lock while it trains and releases it when it ends, also when it fails.
        var observer = new LockObserver(setup.Directory);
        using (var trainer = setup.CreateTrainer(setup.CreateModel(), setup.Options(1), observer))
        {
            await trainer.TrainAsync();
        }

        Assert.Contains($"process {Environment.ProcessId}", observer.HolderDuringTraining, StringComparison.Ordinal);
        Assert.False(File.Exists(lockPath));
        using (var failing = setup.CreateTrainer(setup.CreateModel(), setup.Options(2), new FailAtEpochEnd()))
        {
            failing.LoadCheckpoint(Path.Combine(setup.Directory, "tiny_final.pt"));
            await Assert.ThrowsAsync<InvalidOperationException>(() => failing.TrainAsync());
        }

        Assert.False(File.Exists(lockPath));
    }

    [Fact]
    public void AStaleLockOfAProcessThatEndedIsTakenOverAndAnUnreadableYoungOneIsNot()
    {
        using var directory = new NewLlm.Tests.TempDirectory();
        using var finished = Process.Start(new ProcessStartInfo("true") { UseShellExecute = false })!;
        finished.WaitForExit();
        DateTime start = DateTime.UtcNow.AddMinutes(-5);
        string lockPath = directory.Combine(RunDirectory.LockFileName);
        File.WriteAllText(lockPath, $$"""{"pid":{{finished.Id}},"host":"{{Environment.MachineName}}","process_start_utc":"{{start:O}}","claimed_utc":"{{start:O}}","purpose":"killed run"}""");
        Assert.Null(RunDirectory.FindHolder(directory.Path));

        using (RunDirectory taken = RunDirectory.Claim(directory.Path))
        {
            Assert.Contains($"\"pid\":{Environment.ProcessId}", File.ReadAllText(lockPath), StringComparison.Ordinal);
        }

        // Another host's lock cannot be checked from here: it is respected, and the message says how to clear it.
        File.WriteAllText(lockPath, $$"""{"pid":1,"host":"some-other-host","process_start_utc":"{{start:O}}","claimed_utc":"{{start:O}}"}""");
        var error = Assert.Throws<IOException>(() => RunDirectory.Claim(directory.Path));
        Assert.Contains("on host some-other-host", error.Message, StringComparison.Ordinal);
        Assert.Contains($"delete '{lockPath}'", error.Message, StringComparison.Ordinal);

        // A lock file being written this moment (empty) is respected too.
        File.WriteAllText(lockPath, string.Empty);
        Assert.Throws<IOException>(() => RunDirectory.Claim(directory.Path));
    }

    [Fact]
    public async Task TemporaryFilesAKilledRunLeftAreDeletedWhenARunStarts()
    {
        using var setup = new TinySetup();
        string leftover = Path.Combine(setup.Directory, $".best_tiny.pt.{Guid.NewGuid():N}.tmp");
        string notOurs = Path.Combine(setup.Directory, ".notes.tmp");
        await File.WriteAllBytesAsync(leftover, new byte[1000]);
        await File.WriteAllBytesAsync(notOurs, [1]);

        using (var trainer = setup.CreateTrainer(setup.CreateModel(), setup.Options(1)))
        {
            await trainer.TrainAsync();
        }

        Assert.False(File.Exists(leftover));
        Assert.True(File.Exists(notOurs));
    }

    [Fact]
    public async Task StepCheckpointsAreWrittenMidEpochKeepOnlyTheNewestAndResumeExactly()
    {
        using var setup = new TinySetup(); // 40 rows, batch 8: 5 steps per epoch
        (NewLlmModel straight, _) = await ResumeTests.TrainStraightAsync(setup, 2);

        TrainerOptions options = setup.Options(2);
        options.OutputDirectory = Path.Combine(setup.Directory, "steps");
        options.CheckpointEverySteps = 3;
        options.SaveFinalCheckpoint = false; // the final checkpoint would supersede (delete) the step checkpoints
        var saved = new SavedCheckpoints(keepStep: 6, copyTo: Path.Combine(setup.Directory, "step6.pt"));
        using (var trainer = setup.CreateTrainer(setup.CreateModel(), options, saved))
        {
            await trainer.TrainAsync();
        }

        Assert.Equal([3L, 6L, 9L], saved.Saved.Where(c => c.Kind == CheckpointKind.Step).Select(c => c.GlobalStep));
        string newest = Assert.Single(Directory.GetFiles(options.OutputDirectory, "tiny_step_*.pt"));
        Assert.Equal("tiny_step_9.pt", Path.GetFileName(newest));

        // Step 6 is in the middle of epoch 2: continuing from it gives the uninterrupted run's weights.
        NewLlmModel resumed = setup.CreateModel(seed: 8);
        TrainerOptions resume = setup.Options(2);
        resume.OutputDirectory = Path.Combine(setup.Directory, "resumed");
        using (var trainer = setup.CreateTrainer(resumed, resume))
        {
            trainer.LoadCheckpoint(saved.CopyTo);
            Assert.Equal(1, trainer.State.CompletedEpochs);
            Assert.Equal(1, trainer.State.BatchesIntoEpoch);
            TrainingResult result = await trainer.TrainAsync();
            Assert.Equal(10, result.GlobalStep);
        }

        ResumeTests.AssertSameWeights(straight, resumed);
    }

    [Fact]
    public async Task AnOutputDirectoryUnderAFileAndAFolderGivenAsCheckpointAreSaidAsSuch()
    {
        using var setup = new TinySetup();
        string file = Path.Combine(setup.Directory, "notes.txt");
        await File.WriteAllTextAsync(file, "a file");
        TrainerOptions options = setup.Options(1);
        options.OutputDirectory = Path.Combine(file, "run");
        using (var trainer = setup.CreateTrainer(setup.CreateModel(), options))
        {
            var error = await Assert.ThrowsAsync<IOException>(() => trainer.TrainAsync());
            Assert.Contains($"(TrainerOptions.OutputDirectory) cannot be written: the folder '{options.OutputDirectory}' cannot be created because '{file}' is a file, not a folder.", error.Message, StringComparison.Ordinal);
        }

        using (var trainer = setup.CreateTrainer(setup.CreateModel(), setup.Options(1)))
        {
            await trainer.TrainAsync();
        }

        using var resumed = setup.CreateTrainer(setup.CreateModel(), setup.Options(2));
        var folder = Assert.Throws<FileNotFoundException>(() => resumed.LoadCheckpoint(setup.Directory));
        Assert.Contains("is a folder, not a checkpoint file: give one of the checkpoint files in it (best_tiny.pt, tiny_final.pt;", folder.Message, StringComparison.Ordinal);

        string notes = Path.Combine(setup.Directory, "notes.pt");
        await File.WriteAllTextAsync(notes, "not a checkpoint at all");
        var text = Assert.Throws<InvalidDataException>(() => resumed.LoadCheckpoint(notes));
        Assert.Equal($"{notes}: cannot read it as a PyTorch checkpoint: the file is not a zip archive, so it was not written by torch.save. Check that the path names a PyTorch checkpoint or state dict.", text.Message);
        await File.WriteAllBytesAsync(notes, [0x80, 0x02, 0x8a, 0x0a]); // how PyTorch's legacy format begins: a pickled magic number
        text = Assert.Throws<InvalidDataException>(() => resumed.LoadCheckpoint(notes));
        Assert.Contains("it is in PyTorch's legacy (non-zip) format, which is not supported. Load it in PyTorch and save it again", text.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheFinalCheckpointSupersedesTheInterruptAndStepCheckpointsAndTheLatestIsFoundByItsSteps()
    {
        using var setup = new TinySetup(); // 5 steps per epoch
        TrainerOptions options = setup.Options(2);
        options.CheckpointEverySteps = 2;
        using var cancel = new CancellationTokenSource();
        using (var first = setup.CreateTrainer(setup.CreateModel(), options, new CancelAtStep(7, cancel)))
        {
            Assert.Equal(TrainingOutcome.Cancelled, (await first.TrainAsync(cancel.Token)).Outcome);
        }

        string interrupted = Path.Combine(setup.Directory, "tiny_interrupted.pt");
        Assert.True(File.Exists(interrupted));
        Assert.True(File.Exists(Path.Combine(setup.Directory, "tiny_step_6.pt")));
        Assert.Equal(interrupted, RunDirectory.FindLatestCheckpoint(setup.Directory, "tiny")); // step 7 beats step 6 and epoch 1's best
        Assert.Equal(interrupted, RunDirectory.FindLatestCheckpoint(setup.Directory));

        using (var resumed = setup.CreateTrainer(setup.CreateModel(), options))
        {
            resumed.LoadCheckpoint(interrupted);
            Assert.Equal(TrainingOutcome.Completed, (await resumed.TrainAsync()).Outcome);
        }

        string final = Path.Combine(setup.Directory, "tiny_final.pt");
        Assert.False(File.Exists(interrupted));
        Assert.Empty(Directory.GetFiles(setup.Directory, "tiny_step_*.pt"));
        Assert.Equal(final, RunDirectory.FindLatestCheckpoint(setup.Directory, "tiny"));
        var refused = await Assert.ThrowsAsync<IOException>(async () =>
        {
            using var fresh = setup.CreateTrainer(setup.CreateModel(), setup.Options(1));
            await fresh.TrainAsync();
        });
        Assert.Contains($"call LoadCheckpoint(\"{final}\")", refused.Message, StringComparison.Ordinal);
    }

    private sealed class CancelAtStep(long step, CancellationTokenSource source) : ITrainerCallback
    {
        public void OnBatchEnd(TrainerContext context, BatchResult batch)
        {
            if (batch.GlobalStep == step)
            {
                source.Cancel();
            }
        }
    }

    private sealed class LockObserver(string directory) : ITrainerCallback
    {
        public string? HolderDuringTraining { get; private set; }

        public void OnEpochEnd(TrainerContext context, EpochRecord record) => HolderDuringTraining = RunDirectory.FindHolder(directory);
    }

    private sealed class FailAtEpochEnd : ITrainerCallback
    {
        public void OnEpochEnd(TrainerContext context, EpochRecord record) => throw new InvalidOperationException("a callback failed");
    }

    private sealed class SavedCheckpoints(long keepStep, string copyTo) : ITrainerCallback
    {
        public List<CheckpointInfo> Saved { get; } = [];

        public string CopyTo => copyTo;

        public void OnCheckpointSaved(TrainerContext context, CheckpointInfo checkpoint)
        {
            Saved.Add(checkpoint);
            if (checkpoint.Kind == CheckpointKind.Step && checkpoint.GlobalStep == keepStep)
            {
                File.Copy(checkpoint.Path, copyTo);
            }
        }
    }
}

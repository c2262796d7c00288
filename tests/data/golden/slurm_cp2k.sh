#!/bin/bash -l
#SBATCH --job-name=atomistics
#SBATCH --nodes=1
#SBATCH --ntasks=32
#SBATCH --cpus-per-task=4
#SBATCH --time=24:00:00
#SBATCH --partition=standard
#SBATCH --account=my_project
#SBATCH --output=atomistics-%j.out
#SBATCH --error=atomistics-%j.error

# Node memory (atomistics submit -q refuses jobs above it): 256GB
# CP2K: 32 MPI ranks x 4 OpenMP threads (atomistics CP2K engine).
export OMP_NUM_THREADS=4
export OMP_PLACES=cores
export CP2K_COMMAND="srun --cpu-bind=cores cp2k.psmp"
export CP2K_DATA_DIR=/path/to/cp2k/data
export FW_CONFIG_FILE=/path/to/study/FW_config.yaml
module load cp2k
cd /scratch/study/launcher_0001
rlaunch -w /path/to/my_fworker.yaml singleshot
# CommonAdapter (SLURM, atomistics CP2K) completed writing Template

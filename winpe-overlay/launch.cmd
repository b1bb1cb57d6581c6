@echo off
rem Lifeboat launcher: X:\lifeboat\launch.cmd inside boot.wim, started by winpeshl.ini through
rem "cmd.exe /c" after wpeinit and before Veeam Recovery. It finds the Lifeboat media (the drive holding
rem \lifeboat\assistant.exe and \lifeboat\site.json), runs the restore assistant and waits for it.
rem Whatever happens it exits 0, so that Windows PE goes on to start Veeam Recovery.
setlocal EnableExtensions

set "LB_DRIVE="
set "LB_TRY=0"

:search
for %%D in (C D E F G H I J K L M N O P Q R S T U V W X Y Z) do (
  if not defined LB_DRIVE if exist "%%D:\lifeboat\assistant.exe" if exist "%%D:\lifeboat\site.json" set "LB_DRIVE=%%D:"
)
if defined LB_DRIVE goto run
rem USB sticks and virtual media can appear a few seconds after start-up: look again, about 15 seconds in all.
set /a LB_TRY+=1
if %LB_TRY% GEQ 6 goto notfound
ping -n 4 127.0.0.1 >nul 2>&1
goto search

:run
echo.
echo Lifeboat: starting the restore assistant from %LB_DRIVE%\lifeboat\ ...
"%LB_DRIVE%\lifeboat\assistant.exe" --media %LB_DRIVE%\
set "LB_RC=%ERRORLEVEL%"
if "%LB_RC%"=="0" goto done
echo.
echo ==========================================================================
echo  Lifeboat: the restore assistant stopped with error code %LB_RC%.
echo  Continuing to Veeam Recovery. Follow the printed manual from here.
echo  To try the assistant again: in Veeam Recovery open Tools ^> Command Prompt
echo  and type:  %LB_DRIVE%\lifeboat\start.cmd
echo ==========================================================================
echo.
ping -n 16 127.0.0.1 >nul 2>&1
goto done

:notfound
echo.
echo ==========================================================================
echo  Lifeboat: the recovery media was not found (no drive holds
echo  \lifeboat\assistant.exe and \lifeboat\site.json).
echo  Continuing to Veeam Recovery. Follow the printed manual from here.
echo  If the USB stick or virtual media was attached late: in Veeam Recovery
echo  open Tools ^> Command Prompt and type:  D:\lifeboat\start.cmd
echo  (use the drive letter of the Lifeboat media instead of D:)
echo ==========================================================================
echo.
ping -n 16 127.0.0.1 >nul 2>&1

:done
endlocal
exit /b 0
